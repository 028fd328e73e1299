"""Fixtures shared by the whole test suite."""

import pytest
import torch


@pytest.fixture
def one_thread():
    """Run a test with one torch thread: on tiny tensors a second OpenMP thread only adds synchronisation (and spins
    badly when the cores are busy). Use with ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
