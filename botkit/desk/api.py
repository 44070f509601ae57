"""The desk's JSON endpoints, under ``/desk/api/``. Every one needs an agent's token; a
conversation is shown to, and changed by, only the agent who has it now.

============================================  ==================================================
``GET  state``                                the agent, the team, the queues, my conversations
``GET  conversations/{sid}``                  its history (turns with the bot, handover, messages,
                                              notes)
``POST conversations/{sid}/messages``         ``{"text", "id"}``: posted as the agent (an agent
                                              command is run instead, never posted)
``POST conversations/{sid}/transfer``         ``{"to": "bea" | "@billing", "note"}``
``POST conversations/{sid}/close``            close it (the agent takes the next in line)
``POST next``                                 take the best waiting conversation
``POST presence``                             ``{"presence": "available" | "away" | "offline"}``
============================================  ==================================================

Bad input is a 4xx with a one-line reason, never a 500.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from aiohttp import web

from botkit.core import clock
from botkit.desk.auth import DeskAuth, Refused
from botkit.desk.views import desk_state, entry_view
from botkit.handoff.history.protocol import conversation_thread
from botkit.handoff.service import HandoffError
from botkit.handoff.store.protocol import PRESENCES, HandoffRecord
from botkit.runtime.runtime import Runtime

#: Twilio's longest Conversations message body.
MAX_TEXT = 1600

FindRuntime = Callable[[web.Request], Runtime]


class DeskApi:
    def __init__(self, auth: DeskAuth, runtime: FindRuntime) -> None:
        self.auth = auth
        self.runtime = runtime

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/api/state", self.state),
            web.get("/api/conversations/{sid}", self.conversation),
            web.post("/api/conversations/{sid}/messages", self.message),
            web.post("/api/conversations/{sid}/transfer", self.transfer),
            web.post("/api/conversations/{sid}/close", self.close),
            web.post("/api/next", self.take_next),
            web.post("/api/presence", self.presence),
        ]

    async def state(self, request: web.Request) -> web.Response:
        agent = self.auth.agent(request)
        state = await desk_state(self.runtime(request).conversations.handoff, agent)
        return web.json_response({**state, "now": clock.now()})

    async def conversation(self, request: web.Request) -> web.Response:
        agent = self.auth.agent(request)
        record = await self._mine(request, agent)
        history = await self.runtime(request).stores.history.read(
            conversation_thread(record.conversation_sid)
        )
        return web.json_response(
            {
                "conversation_sid": record.conversation_sid,
                "entries": [entry_view(e) for e in history],
            }
        )

    async def message(self, request: web.Request) -> web.Response:
        agent = self.auth.agent(request)
        record = await self._mine(request, agent)
        body = await _body(request)
        text = _text(body, "text")
        if len(text) > MAX_TEXT:
            raise Refused(400, f"text: at most {MAX_TEXT} characters")
        runtime = self.runtime(request)
        sid = record.conversation_sid
        intake = runtime.conversations.intake
        if await intake.is_command(text):
            await intake.submit(sid, agent, await self._participant(runtime, sid, agent), text)
            return web.json_response({"command": True}, status=202)
        client_id = str(body.get("id") or uuid.uuid4().hex)[:64]
        # An idempotency key is a Redis key: the agent in it by pseudonym (their identity may
        # be a phone number).
        who = runtime.stores.hasher.pseudonym(agent)
        await runtime.messenger.post(
            sid, text, author=agent, idempotency_key=f"desk:{sid}:{who}:{client_id}"
        )
        return web.json_response({"command": False}, status=202)

    async def transfer(self, request: web.Request) -> web.Response:
        agent = self.auth.agent(request)
        record = await self._mine(request, agent)
        body = await _body(request)
        target = _text(body, "to")
        note = str(body.get("note") or "").strip() or None
        told = await self.runtime(request).conversations.handoff.transfer(
            record.conversation_sid, target, by=agent, note=note
        )
        return web.json_response({"told": told})

    async def close(self, request: web.Request) -> web.Response:
        agent = self.auth.agent(request)
        record = await self._mine(request, agent)
        await self.runtime(request).conversations.handoff.close(record.conversation_sid)
        return web.json_response({"closed": record.conversation_sid})

    async def take_next(self, request: web.Request) -> web.Response:
        agent = self.auth.agent(request)
        taken = await self.runtime(request).conversations.handoff.take_next(agent)
        return web.json_response({"conversation_sid": taken})

    async def presence(self, request: web.Request) -> web.Response:
        agent = self.auth.agent(request)
        given = _text(await _body(request), "presence")
        presence = next((p for p in PRESENCES if p == given), None)
        if presence is None:
            raise Refused(400, f"presence: one of {', '.join(PRESENCES)}, not {given!r}")
        try:
            await self.runtime(request).conversations.handoff.set_presence(agent, presence)
        except HandoffError as exc:
            raise Refused(400, str(exc)) from None
        return web.json_response({"presence": presence})

    async def _mine(self, request: web.Request, agent: str) -> HandoffRecord:
        """The conversation of the URL, if ``agent`` has it now (else 404, or 403)."""
        sid = request.match_info["sid"]
        record = await self.runtime(request).conversations.handoff.store.get(sid)
        if record is None or record.mode == "bot":
            raise Refused(404, f"no handed-off conversation {sid}")
        if record.agent != agent:
            raise Refused(403, "not your conversation")
        return record

    async def _participant(self, runtime: Runtime, sid: str, agent: str) -> str:
        for participant in await runtime.conversations.client.participants(sid):
            if participant.author == agent:
                return participant.sid
        raise Refused(409, "you are not a participant of this conversation")


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        data = json.loads(await request.text())
    except ValueError:
        raise Refused(400, "body is not valid JSON") from None
    if not isinstance(data, dict):
        raise Refused(400, "JSON body must be an object")
    return data


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise Refused(400, f"{name}: a non-empty string is required")
    return value.strip()
