"""What a valid signature does not prove, checked after it.

Twilio's signature concatenates names and values with no separator, so a captured request can
be re-cut at other boundaries and keep its signature: merging ``Body`` into ``ApiVersion``
erases the body, merging ``ApiVersion`` into ``AccountSid`` changes what the request says. And
the validator signs a repeated parameter like a single one, and a JSON webhook's URL alone.
Each such request is refused, and nothing is queued.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import pytest
from aiohttp import ClientResponse

from botkit import Bot
from botkit.twilio.signature import SIGNATURE_HEADER
from tests.conftest import AUTH_TOKEN, BotServer, StartServer
from tests.server.captured import CAPTURED, CONVERSATIONS, ENDPOINTS, MESSAGES, STATUS, recut
from tests.support.webhooks import sign

OTHER_ACCOUNT = "AC" + "2" * 32
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response />'


@pytest.fixture
async def server(start_server: StartServer, store_url: str | None) -> AsyncIterator[BotServer]:
    # No workers: what is accepted stays queued, for every kind of webhook alike.
    yield await start_server(Bot("signed"), workers=False, redis_url=store_url)


async def post_form(
    server: BotServer, path: str, body: str, signature: str, query: str = ""
) -> ClientResponse:
    return await server.client.post(
        path + query,
        data=body.encode(),
        headers={
            SIGNATURE_HEADER: signature,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )


async def expect_refused(server: BotServer, response: ClientResponse, reason: str) -> None:
    text = await response.text()
    assert 400 <= response.status < 500, (response.status, text)
    assert text == reason + "\n"
    assert await server.runtime.stores.inbound.backlog() == 0


async def expect_queued(server: BotServer, path: str, params: dict[str, str]) -> None:
    """The request as Twilio sent it is still accepted: the refusal consumed nothing."""
    signature = sign(AUTH_TOKEN, server.url(path), params)
    response = await post_form(server, path, urlencode(params), signature)
    assert (response.status, await response.text()) == (200, EMPTY_TWIML)
    assert await server.runtime.stores.inbound.backlog() == 1


@pytest.mark.parametrize(
    ("path", "into", "absorbed", "reason"),
    [
        (MESSAGES, "AccountSid", "ApiVersion", "AccountSid is not this bot's Twilio account"),
        (MESSAGES, "ApiVersion", "Body", "ApiVersion '2010-04-01Bodymeet me at noon' is not "
         "Twilio's 2010-04-01"),
        (MESSAGES, "Body", "From", "missing required parameter From"),
        (STATUS, "AccountSid", "ApiVersion", "AccountSid is not this bot's Twilio account"),
        (STATUS, "ApiVersion", "From", "ApiVersion '2010-04-01From+15550002222' is not Twilio's "
         "2010-04-01"),
        (STATUS, "MessageSid", "MessageStatus", None),
        (CONVERSATIONS, "AccountSid", "Attributes", "AccountSid is not this bot's Twilio account"),
        (CONVERSATIONS, "Author", "Body", "missing required parameter Body"),
        (CONVERSATIONS, "Body", "ChatServiceSid", "missing required parameter ChatServiceSid"),
    ],
    ids=[
        "messages-apiversion-into-accountsid",
        "messages-body-into-apiversion",
        "messages-from-into-body",
        "status-apiversion-into-accountsid",
        "status-from-into-apiversion",
        "status-messagestatus-into-messagesid",
        "conversations-attributes-into-accountsid",
        "conversations-body-into-author",
        "conversations-chatservicesid-into-body",
    ],
)
async def test_a_recut_request_keeps_its_signature_and_is_refused(
    server: BotServer, path: str, into: str, absorbed: str, reason: str | None
) -> None:
    captured = CAPTURED[path]()
    shifted = recut(captured, into, absorbed)
    url = server.url(path)
    signature = sign(AUTH_TOKEN, url, captured)
    assert sign(AUTH_TOKEN, url, shifted) == signature  # the signature cannot tell them apart
    response = await post_form(server, path, urlencode(shifted), signature)
    if reason is None:
        assert response.status == 400
        assert await server.runtime.stores.inbound.backlog() == 0
    else:
        await expect_refused(server, response, reason)
    await expect_queued(server, path, captured)


@pytest.mark.parametrize("path", ENDPOINTS)
async def test_another_account_is_refused(server: BotServer, path: str) -> None:
    params = {**CAPTURED[path](), "AccountSid": OTHER_ACCOUNT}
    response = await post_form(
        server, path, urlencode(params), sign(AUTH_TOKEN, server.url(path), params)
    )
    await expect_refused(server, response, "AccountSid is not this bot's Twilio account")


@pytest.mark.parametrize("path", [MESSAGES, STATUS])
@pytest.mark.parametrize("version", [None, "", "2008-08-01", " 2010-04-01"])
async def test_messages_and_status_callbacks_carry_twilios_api_version(
    server: BotServer, path: str, version: str | None
) -> None:
    params = CAPTURED[path]()
    if version is None:
        del params["ApiVersion"]
        reason = "missing required parameter ApiVersion"
    else:
        params["ApiVersion"] = version
        reason = f"ApiVersion {version!r} is not Twilio's 2010-04-01"
    response = await post_form(
        server, path, urlencode(params), sign(AUTH_TOKEN, server.url(path), params)
    )
    await expect_refused(server, response, reason)


@pytest.mark.parametrize("path", ENDPOINTS)
async def test_a_repeated_parameter_is_refused(server: BotServer, path: str) -> None:
    # The validator signs the values of a name as a set: Body=a&Body=a signs as Body=a, and
    # with two different values, which one counts would be the sender's choice.
    captured = CAPTURED[path]()
    name = "Body" if "Body" in captured else "MessageStatus"
    body = urlencode(captured) + "&" + urlencode({name: captured[name]})
    signature = sign(AUTH_TOKEN, server.url(path), captured)
    response = await post_form(server, path, body, signature)
    await expect_refused(server, response, f"parameter {name!r} appears more than once")
    await expect_queued(server, path, captured)


@pytest.mark.parametrize("path", ENDPOINTS)
async def test_a_json_signature_does_not_pass_as_an_empty_form(
    server: BotServer, path: str
) -> None:
    # A JSON webhook's signature covers its URL alone, and so would a form with no parameters.
    body = json.dumps(CAPTURED[path]())
    query = f"?bodySHA256={hashlib.sha256(body.encode()).hexdigest()}"
    signature = sign(AUTH_TOKEN, server.url(path + query), {})
    response = await post_form(server, path, "", signature, query)
    await expect_refused(server, response, "invalid X-Twilio-Signature")
    # The JSON body it was made for is accepted.
    json_response = await server.client.post(
        path + query,
        data=body.encode(),
        headers={SIGNATURE_HEADER: signature, "Content-Type": "application/json"},
    )
    assert json_response.status == 200, await json_response.text()
