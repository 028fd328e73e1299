"""One torch thread for the experiment tests: their models are tiny, and extra intra-op threads only add overhead."""

import pytest


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    yield
