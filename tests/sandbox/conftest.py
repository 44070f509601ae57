"""Fixtures shared by the sandbox's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from twilio.rest import Client

from botkit.sandbox import Sandbox
from tests.support.sandbox_stack import sdk_client


@pytest.fixture
async def client(sandbox: Sandbox) -> AsyncIterator[Client]:
    """The twilio SDK pointed at the test module's own ``sandbox`` fixture."""
    async with sdk_client(sandbox) as twilio:
        yield twilio
