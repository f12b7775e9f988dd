import pytest

from segments import compiler, membership, parsed


@pytest.fixture(autouse=True)
def _fresh_store_facts():
    compiler._SHARED.clear()
    membership._SQL.clear()
    parsed.clear()
    yield
    compiler._SHARED.clear()
    membership._SQL.clear()
    parsed.clear()
