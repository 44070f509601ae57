"""A small HTTP server that receives webhooks, checks Twilio's signature on each, and answers
what the test told it to: a stand-in for a bot's webhook endpoints."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from twilio.request_validator import RequestValidator


@dataclass
class Hit:
    method: str
    path: str
    url: str
    params: dict[str, str]
    headers: dict[str, str]
    signature_valid: bool

    @property
    def event(self) -> str:
        return self.params.get("EventType", "")


@dataclass
class WebhookSink:
    auth_token: str
    hits: list[Hit] = field(default_factory=list)
    #: path -> (status, JSON body or None) to answer with; default 200 and an empty body.
    answers: dict[str, tuple[int, Any]] = field(default_factory=dict)
    server: TestServer | None = None

    def url(self, path: str) -> str:
        assert self.server is not None
        return str(self.server.make_url(path))

    def at(self, path: str) -> list[Hit]:
        return [hit for hit in self.hits if hit.path == path]

    def events(self, path: str) -> list[str]:
        return [hit.event for hit in self.at(path)]

    def answer(self, path: str, status: int, body: Any = None) -> None:
        self.answers[path] = (status, body)

    async def _handle(self, request: web.Request) -> web.Response:
        if request.method == "POST":
            form = await request.post()
            params = {key: str(value) for key, value in form.items()}
            signed_params: dict[str, str] = params
        else:
            params = dict(request.query)
            signed_params = {}
        # The URL exactly as requested: request.url would requote the query string.
        url = f"{request.scheme}://{request.host}{request.raw_path}"
        signature = request.headers.get("X-Twilio-Signature", "")
        valid = RequestValidator(self.auth_token).validate(url, signed_params, signature)
        self.hits.append(
            Hit(request.method, request.path, url, params, dict(request.headers), bool(valid))
        )
        status, body = self.answers.get(request.path, (200, None))
        if body is None:
            return web.Response(status=status)
        return web.Response(status=status, text=json.dumps(body), content_type="application/json")


@asynccontextmanager
async def webhook_sink(auth_token: str) -> AsyncIterator[WebhookSink]:
    sink = WebhookSink(auth_token)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", sink._handle)
    sink.server = TestServer(app, host="127.0.0.1")
    await sink.server.start_server()
    try:
        yield sink
    finally:
        await sink.server.close()
