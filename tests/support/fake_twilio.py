"""A small local stand-in for Twilio's Messages API, so outbound requests are checked over HTTP.

It understands only Messages create, checks Basic auth, and records each request. The sandbox
(a later issue) replaces it with a full emulation.
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.test_utils import TestServer
from multidict import MultiDict


@dataclass
class SentMessage:
    account_sid: str
    params: MultiDict[str]

    @property
    def to(self) -> str:
        return self.params["To"]

    @property
    def body(self) -> str:
        return self.params.get("Body", "")


@dataclass
class FakeTwilio:
    account_sid: str
    auth_token: str
    sent: list[SentMessage] = field(default_factory=list)
    fail_with: tuple[int, int] | None = None
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    server: TestServer | None = None

    @property
    def base_url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{account}/Messages.json", self._create)
        self.server = TestServer(app)
        await self.server.start_server()

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[SentMessage]:
        """Wait until at least count messages were sent; return them all."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: len(self.sent) >= count)
        return list(self.sent)

    async def _create(self, request: web.Request) -> web.Response:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if request.headers.get("Authorization") != f"Basic {expected}":
            return _error(401, 20003, "Authenticate")
        if self.fail_with is not None:
            return _error(self.fail_with[0], self.fail_with[1], "configured failure")
        params = MultiDict(await request.post())
        account = request.match_info["account"]
        sid = "SM" + uuid.uuid4().hex
        async with self._changed:
            self.sent.append(SentMessage(account, params))  # type: ignore[arg-type]
            self._changed.notify_all()
        return web.json_response(
            {
                "sid": sid,
                "account_sid": account,
                "to": params.get("To"),
                "from": params.get("From"),
                "messaging_service_sid": params.get("MessagingServiceSid"),
                "body": params.get("Body"),
                "status": "queued",
                "num_segments": "1",
                "num_media": str(len(params.getall("MediaUrl", []))),
                "direction": "outbound-api",
                "uri": f"/2010-04-01/Accounts/{account}/Messages/{sid}.json",
            },
            status=201,
        )


def _error(status: int, code: int, message: str) -> web.Response:
    return web.json_response(
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        status=status,
    )
