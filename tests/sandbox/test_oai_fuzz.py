"""`botkit sandbox` against requests generated from Twilio's own OpenAPI description.

Schemathesis turns every Messages API (2010-04-01) and Conversations v1 operation the sandbox
serves into a stream of requests, valid and invalid (hypothesis, derandomized so a run is
reproducible), some aimed at resources that exist and some at made-up SIDs. Whatever it sends,
the sandbox must never answer 5xx, and every answer must be shaped as Twilio shapes it: a 2xx
as its operation's response schema (closed: every declared field, no other), a 4xx as Twilio's
error document (code, message, more_info, status). Bounded: a few examples per operation and
mode, so the suite takes seconds and runs in the normal test command.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.transport import Response
from schemathesis.schemas import APIOperation

from botkit.twilio.development import DEVELOPMENT_ACCOUNT_SID, DEVELOPMENT_AUTH_TOKEN
from tests.support import oai
from tests.support.process import botkit_process, clean_env
from tests.support.redis_server import free_port

AUTH = (DEVELOPMENT_ACCOUNT_SID, DEVELOPMENT_AUTH_TOKEN)
BOT = "+15550100100"
USER = "+15550001111"
SERVICE = "MG" + "5" * 32
POOL = ["+15550006001", "+15550006002"]
#: Examples per operation and generation mode: enough to reach every branch of the sandbox's
#: parameter checks that the schema describes, few enough to keep the suite to seconds.
EXAMPLES = 8


def _served(spec_name: str, prefixes: tuple[str, ...]) -> schemathesis.schemas.BaseSchema:
    """The OAI reduced to the paths the sandbox serves."""
    spec = oai.load_spec(spec_name)
    paths = {p: item for p, item in spec["paths"].items() if p.startswith(prefixes)}
    return schemathesis.openapi.from_dict({**spec, "paths": paths})


SCHEMAS = {
    oai.API_V2010: _served(oai.API_V2010, ("/2010-04-01/Accounts/{AccountSid}/Messages",)),
    oai.CONVERSATIONS_V1: _served(
        oai.CONVERSATIONS_V1, ("/v1/Conversations", "/v1/Configuration/Webhooks")
    ),
}
OPERATIONS = [
    (name, result.ok())
    for name, schema in SCHEMAS.items()
    for result in schema.get_all_operations()
]


@dataclass
class Live:
    """A running `botkit sandbox`, and SIDs of resources that exist in it."""

    url: str
    known: dict[str, str]

    def path_parameters(self, operation: APIOperation) -> dict[str, str]:
        """Existing resources for the operation's path parameters (AccountSid always)."""
        template = operation.path
        known = {"AccountSid": DEVELOPMENT_ACCOUNT_SID}
        if "/Messages/{MessageSid}/Media" in template:
            known |= {"MessageSid": self.known["message"], "Sid": self.known["media"]}
        elif template.startswith("/2010-04-01") and "{Sid}" in template:
            known["Sid"] = self.known["message"]
        for name, key in (("ConversationSid", "conversation"), ("MessageSid", "im")):
            if "{" + name + "}" in template and template.startswith("/v1"):
                known[name] = self.known[key]
        if template.startswith("/v1/Conversations/{Sid}"):
            known["Sid"] = self.known["conversation"]
        elif template.endswith("/Participants/{Sid}"):
            known["Sid"] = self.known["participant"]
        elif template.endswith("/Messages/{Sid}"):
            known["Sid"] = self.known["im"]
        elif template.endswith("/Receipts/{Sid}"):
            known["Sid"] = self.known["receipt"]
        return {k: v for k, v in known.items() if "{" + k + "}" in template}


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    port = free_port()
    args = [
        "sandbox",
        "--port",
        str(port),
        "--number",
        f"{BOT}=",
        "--messaging-service",
        f"{SERVICE}={','.join(POOL)}",
    ]
    with botkit_process(args, clean_env()) as proc:
        url = f"http://127.0.0.1:{port}"
        _wait_up(url, proc)
        yield Live(url, _seed(url))


def _wait_up(url: str, proc: Any) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate(timeout=5)
        try:
            requests.get(f"{url}/sandbox/numbers", timeout=0.5)
            return
        except requests.ConnectionError:
            time.sleep(0.05)
    raise AssertionError("botkit sandbox did not start")


def _seed(url: str) -> dict[str, str]:
    """A message with media, and a conversation with a phone participant and a message that
    reached the phone (so it has a delivery receipt)."""
    api = requests.Session()
    api.auth = AUTH
    messages = f"{url}/2010-04-01/Accounts/{DEVELOPMENT_ACCOUNT_SID}/Messages.json"
    message = api.post(
        messages, data={"To": USER, "From": BOT, "MediaUrl": "https://example.com/a.png"}
    ).json()
    media = api.get(f"{url}{message['subresource_uris']['media']}").json()["media_list"][0]
    conversation = api.post(f"{url}/v1/Conversations", data={"FriendlyName": "fuzz"}).json()
    base = f"{url}/v1/Conversations/{conversation['sid']}"
    participant = api.post(
        f"{base}/Participants",
        data={"MessagingBinding.Address": "+15550002233", "MessagingBinding.ProxyAddress": BOT},
    ).json()
    posted = api.post(f"{base}/Messages", data={"Body": "hello", "Author": "agent"}).json()
    receipts: list[dict[str, Any]] = []
    deadline = time.monotonic() + 5
    while not receipts and time.monotonic() < deadline:
        receipts = api.get(posted["links"]["delivery_receipts"]).json()["delivery_receipts"]
    assert receipts, "the conversation message never reached the phone"
    return {
        "message": message["sid"],
        "media": media["sid"],
        "conversation": conversation["sid"],
        "participant": participant["sid"],
        "im": posted["sid"],
        "receipt": receipts[0]["sid"],
    }


@cache
def expected_schema(
    spec_name: str, method: str, template: str, status: int
) -> dict[str, Any] | None:
    """What an answer must look like (closed); None for an answer without a body. Cached: the
    OAI's schemas are large, and the same few are asked for hundreds of times."""
    spec = oai.load_spec(spec_name)
    declared = oai.declared_statuses(spec, method, template)
    if status >= 400 and str(status) not in declared:
        return oai.TWILIO_ERROR_SCHEMA
    assert str(status) in declared, f"{method} {template}: {status} is not declared by the OAI"
    return oai.response_schema(spec, method, template, status, closed=True)


def assert_twilio_shaped(
    spec_name: str, method: str, template: str, path: str, response: Response
) -> None:
    where = f"{method} {path} -> {response.status_code}: {response.content[:300]!r}"
    assert response.status_code < 500, where
    schema = expected_schema(spec_name, method.lower(), template, response.status_code)
    if schema is None:
        assert response.content == b"", where
        return
    (content_type,) = response.headers.get("content-type", [""])
    assert content_type.startswith("application/json"), where
    problems = oai.errors(json.loads(response.content), schema)
    assert not problems, f"{where}\n" + "\n".join(problems)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize(
    ("spec_name", "operation"),
    OPERATIONS,
    ids=[f"{op.method.upper()} {op.path}" for _, op in OPERATIONS],
)
def test_generated_requests_get_twilio_shaped_answers(
    live: Live, spec_name: str, operation: APIOperation, mode: GenerationMode
) -> None:
    existing = operation.as_strategy(mode, path_parameters=live.path_parameters(operation))
    made_up = operation.as_strategy(mode, path_parameters={"AccountSid": DEVELOPMENT_ACCOUNT_SID})
    strategy = st.one_of(existing, made_up) if "{" in operation.path.replace(
        "{AccountSid}", ""
    ) else existing

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def answer_is_twilio_shaped(case: Any) -> None:
        response = case.call(base_url=live.url, auth=AUTH, timeout=10)
        assert_twilio_shaped(
            spec_name, case.method, operation.path, case.formatted_path, response
        )

    answer_is_twilio_shaped()
