"""``GET /desk/api/events``: the desk's live feed, as Server-Sent Events.

- ``state``: the agent, the team, the queues and the agent's conversations, sent when any of
  it changed (with ``now``, so the page counts waits on by itself);
- ``entries``: new history entries of a conversation the agent has (all of its history when it
  becomes theirs, transferred ones included);
- ``notice``: what the bot told this agent alone.

It reads the stores twice a second rather than listening to one process's events, so it is
right whichever ``botkit run`` process handled what changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from aiohttp import web

from botkit.core import clock
from botkit.desk.api import FindRuntime
from botkit.desk.auth import DeskAuth
from botkit.desk.views import desk_state, entry_view
from botkit.handoff.history.protocol import conversation_thread

POLL = 0.5
KEEP_ALIVE = 15.0
#: How many of the agent's past notices a new stream starts with.
RECENT_NOTICES = 20


class DeskStream:
    def __init__(self, auth: DeskAuth, runtime: FindRuntime) -> None:
        self.auth = auth
        self.runtime = runtime
        #: Set when the server stops: open streams end instead of holding the shutdown.
        self.closing = asyncio.Event()

    async def events(self, request: web.Request) -> web.StreamResponse:
        agent = self.auth.agent(request)
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        feed = _Feed(self.runtime(request), agent)
        quiet = 0.0
        with contextlib.suppress(ConnectionResetError):
            await response.write(b": connected\n\n")
            while not self.closing.is_set():
                sent = False
                for kind, data in await feed.changes():
                    await response.write(f"event: {kind}\ndata: {json.dumps(data)}\n\n".encode())
                    sent = True
                quiet = 0.0 if sent else quiet + POLL
                if quiet >= KEEP_ALIVE:
                    await response.write(b": keep-alive\n\n")
                    quiet = 0.0
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.closing.wait(), POLL)
        return response


class _Feed:
    """What one agent's stream has sent so far, to send only what is new."""

    def __init__(self, runtime: Any, agent: str) -> None:
        self.runtime = runtime
        self.agent = agent
        self.state: dict[str, Any] | None = None
        self.seen: dict[str, int] = {}
        self.notices_seen: int | None = None

    async def changes(self) -> list[tuple[str, dict[str, Any]]]:
        handoff = self.runtime.conversations.handoff
        out: list[tuple[str, dict[str, Any]]] = []
        state = await desk_state(handoff, self.agent)
        if state != self.state:
            self.state = state
            out.append(("state", {**state, "now": clock.now()}))
        mine = {view["conversation_sid"] for view in state["mine"]}
        self.seen = {sid: n for sid, n in self.seen.items() if sid in mine}
        for sid in sorted(mine):
            entries = await self.runtime.stores.history.read(
                conversation_thread(sid), self.seen.get(sid, 0)
            )
            if entries:
                self.seen[sid] = entries[-1].index
                views = [entry_view(e) for e in entries]
                out.append(("entries", {"conversation_sid": sid, "entries": views}))
        notices = await handoff.notices.of(self.agent, self.notices_seen or 0)
        if self.notices_seen is None:
            notices = notices[-RECENT_NOTICES:]
        if notices:
            self.notices_seen = notices[-1].index
        elif self.notices_seen is None:
            self.notices_seen = 0
        out.extend(("notice", entry_view(n)) for n in notices)
        return out
