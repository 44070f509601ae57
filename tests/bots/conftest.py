"""The example bots' tests run twice: on the memory stores and on a real Redis."""

from __future__ import annotations

import pytest


@pytest.fixture
def botkit_redis_url(store_url: str | None) -> str | None:
    """botkit.testing's hook for where the stores live: the suite's memory/Redis parameter."""
    return store_url
