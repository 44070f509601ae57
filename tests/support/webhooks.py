"""Building and posting signed Twilio webhooks, the way Twilio itself signs them."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from twilio.request_validator import RequestValidator

USER = "+15550001111"
BOT_NUMBER = "+15550002222"


def message_sid() -> str:
    return "SM" + uuid.uuid4().hex


def inbound_params(body: str = "hi", **overrides: str) -> dict[str, str]:
    """The parameters Twilio posts for an inbound SMS; overrides replace or add fields."""
    params = {
        "MessageSid": message_sid(),
        "SmsSid": "",
        "AccountSid": "AC" + "1" * 32,
        "From": USER,
        "To": BOT_NUMBER,
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }
    params.update(overrides)
    if "SmsSid" not in overrides:
        # Twilio's SmsSid is a copy of the MessageSid, whichever the test chose.
        params["SmsSid"] = params["MessageSid"]
    return params


def sign(token: str, url: str, params: Mapping[str, str]) -> str:
    return str(RequestValidator(token).compute_signature(url, params))


async def post_signed(
    client: TestClient,  # type: ignore[type-arg]
    params: Mapping[str, str],
    *,
    token: str,
    path: str = "/twilio/messages",
    signed_url: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> ClientResponse:
    """POST form params to path, signed over signed_url (default: the URL actually called)."""
    url = signed_url or str(client.make_url(path))
    all_headers = {"X-Twilio-Signature": sign(token, url, params), **(headers or {})}
    return await client.post(path, data=dict(params), headers=all_headers)


def post_form(url: str, params: Mapping[str, str], token: str = "") -> int:
    """POST a form to ``url`` signed with ``token`` (the tests' account by default), as Twilio
    would, from a thread (``asyncio.to_thread``): the status it answered."""
    import urllib.parse
    import urllib.request

    from tests.conftest import AUTH_TOKEN

    request = urllib.request.Request(
        url,
        data=urllib.parse.urlencode(params).encode(),
        headers={"X-Twilio-Signature": sign(token or AUTH_TOKEN, url, params)},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return int(response.status)
