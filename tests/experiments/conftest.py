"""One torch thread for the experiment tests: their models are tiny, and extra intra-op threads only add overhead."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
