import pytest
from django.core.cache import cache

from kpis.services import LOCK_KEY


@pytest.fixture(autouse=True)
def _free_lock():
    """Each test starts without a recompute lock left by another."""
    cache.delete(LOCK_KEY)
    yield
    cache.delete(LOCK_KEY)
