"""Development mode wires the embedded sandbox to the bot as its owner would wire Twilio: the
number's messaging webhook, and the account's Conversations pre- and post-event webhooks (without
them, an agent's /close is only text and a handoff never ends)."""

from __future__ import annotations

import base64
import json
import urllib.request

from botkit.twilio.conversation_events import HANDLED_EVENTS
from botkit.twilio.development import DEVELOPMENT_ACCOUNT_SID, DEVELOPMENT_AUTH_TOKEN
from tests.support.process import botkit_process, clean_env, wait_healthy
from tests.support.redis_server import free_port


def test_botkit_run_points_the_sandboxs_conversations_webhooks_at_the_bot() -> None:
    port, sandbox_port = free_port(), free_port()
    args = ["run", "bots.echo", "--port", str(port), "--sandbox-port", str(sandbox_port)]
    with botkit_process(args, clean_env()) as proc:
        wait_healthy(port, proc)
        request = urllib.request.Request(
            f"http://127.0.0.1:{sandbox_port}/v1/Configuration/Webhooks"
        )
        pair = f"{DEVELOPMENT_ACCOUNT_SID}:{DEVELOPMENT_AUTH_TOKEN}".encode()
        request.add_header("Authorization", "Basic " + base64.b64encode(pair).decode())
        with urllib.request.urlopen(request, timeout=5) as response:
            configured = json.load(response)
    bot = f"http://127.0.0.1:{port}/twilio/conversations"
    assert configured["pre_webhook_url"] == configured["post_webhook_url"] == bot
    assert set(configured["filters"]) == set(HANDLED_EVENTS)
    assert configured["method"] == "POST"
