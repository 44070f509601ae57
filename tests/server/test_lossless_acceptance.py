"""A 200 means the event is queued as it came: what could not be is refused with a 400.

The probe's case: a signed WhatsApp message with ``Latitude=nan`` got 200, was queued with
``null`` in its place, and the worker dropped it as unreadable, so it was never handled. Values
JSON cannot hold (NaN, infinities, lone surrogates) are now refused at the edge, on every
endpoint; tests/twilio/test_round_trip.py proves the rest reads back equal.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator

import pytest

from botkit import Bot
from botkit.twilio.signature import SIGNATURE_HEADER
from tests.conftest import AUTH_TOKEN, BotServer, StartServer
from tests.server.captured import CONVERSATIONS, MESSAGES, conversation_message, message
from tests.support.logs import JsonLogs
from tests.support.webhooks import BOT_NUMBER, USER, sign


def whatsapp_location(latitude: str) -> dict[str, str]:
    return {
        **message(),
        "From": f"whatsapp:{USER}",
        "To": f"whatsapp:{BOT_NUMBER}",
        "Latitude": latitude,
        "Longitude": "-122.4194",
    }


def with_attributes(attributes: str) -> dict[str, str]:
    return {**conversation_message(), "Attributes": attributes}


@pytest.fixture
async def server(start_server: StartServer, store_url: str | None) -> AsyncIterator[BotServer]:
    yield await start_server(Bot("lossless"), workers=False, redis_url=store_url)


@pytest.mark.parametrize(
    ("path", "params", "reason"),
    [
        (MESSAGES, whatsapp_location("nan"),
         "Latitude/Longitude 'nan'/'-122.4194' are not coordinates"),
        (MESSAGES, whatsapp_location("inf"),
         "Latitude/Longitude 'inf'/'-122.4194' are not coordinates"),
        (MESSAGES, whatsapp_location("1e400"),
         "Latitude/Longitude '1e400'/'-122.4194' are not coordinates"),
        (MESSAGES, whatsapp_location("91"),
         "Latitude/Longitude '91'/'-122.4194' are not coordinates"),
        (CONVERSATIONS, with_attributes('{"a": NaN}'),
         "Attributes holds NaN, which JSON cannot store"),
        (CONVERSATIONS, with_attributes('{"a": -1e999}'),
         "Attributes holds -1e999, which is too large to store"),
        (CONVERSATIONS, with_attributes('{"a": "\\ud800"}'),
         "Attributes holds a lone surrogate, which is not text"),
        (CONVERSATIONS, with_attributes("[" * 100 + "]" * 100),
         "Attributes is nested deeper than 32 levels"),
    ],
    ids=[
        "latitude-nan", "latitude-inf", "latitude-overflow", "latitude-off-earth",
        "attributes-nan", "attributes-overflow", "attributes-surrogate", "attributes-deep",
    ],
)
async def test_a_value_the_queue_cannot_hold_is_refused(
    server: BotServer, logs: JsonLogs, path: str, params: dict[str, str], reason: str
) -> None:
    logs.take()
    response = await server.post(params, path=path)
    assert (response.status, await response.text()) == (400, reason + "\n")
    assert await server.runtime.stores.inbound.backlog() == 0
    logs.take_rejection(status=400, reason=reason, path=path)


async def test_a_json_body_with_a_lone_surrogate_is_refused(server: BotServer) -> None:
    body = json.dumps(message()).replace("meet me", "\\ud800 meet me").encode()
    path = f"{MESSAGES}?bodySHA256={hashlib.sha256(body).hexdigest()}"
    signature = sign_url(server, path)
    response = await server.client.post(
        path, data=body, headers={SIGNATURE_HEADER: signature, "Content-Type": "application/json"}
    )
    text = await response.text()
    assert (response.status, text) == (400, "body holds a lone surrogate, which is not text\n")
    assert await server.runtime.stores.inbound.backlog() == 0


def sign_url(server: BotServer, path: str) -> str:
    return sign(AUTH_TOKEN, server.url(path), {})


async def test_a_valid_location_is_still_accepted(server: BotServer) -> None:
    response = await server.post(whatsapp_location("-33.8688"))
    assert response.status == 200, await response.text()
    assert await server.runtime.stores.inbound.backlog() == 1
