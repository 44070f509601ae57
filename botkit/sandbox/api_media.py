"""A message's Media subresource (API 2010-04-01): list, fetch and delete its attachments.

Every Message JSON links to ``Messages/{Sid}/Media.json``, so the SDK's ``message.media.list()``
must work. A media item's SID is derived from its message and position: stable across requests
without storing anything more per message.
"""

from __future__ import annotations

import hashlib
from typing import Any

from aiohttp import web

from botkit.sandbox.auth import require_account
from botkit.sandbox.errors import not_found
from botkit.sandbox.messages import MessageRecord, rfc2822
from botkit.sandbox.paging import page_of
from botkit.sandbox.state import SandboxState

BASE = "/2010-04-01/Accounts/{account}/Messages/{message}/Media"


def media_sids(record: MessageRecord) -> list[str]:
    """The SIDs of record's media, derived from the message and position the first time they
    are asked for, and kept from then on (a deleted item's neighbours keep theirs)."""
    if len(record.media_sids) != len(record.media_urls):
        record.media_sids = [
            "ME" + hashlib.md5(f"{record.sid}/{i}".encode(), usedforsecurity=False).hexdigest()
            for i in range(len(record.media_urls))
        ]
    return record.media_sids


def media_json(record: MessageRecord, index: int) -> dict[str, Any]:
    sid = media_sids(record)[index]
    return {
        "account_sid": record.account_sid,
        "content_type": record.media_types[index],
        "date_created": rfc2822(record.date_created),
        "date_updated": rfc2822(record.date_updated),
        "parent_sid": record.sid,
        "sid": sid,
        "uri": f"{record.uri.removesuffix('.json')}/Media/{sid}.json",
    }


class MediaApi:
    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get(BASE + ".json", self.list),
            web.get(BASE + "/{sid}.json", self.fetch),
            web.delete(BASE + "/{sid}.json", self.delete),
        ]

    async def list(self, request: web.Request) -> web.Response:
        require_account(request, self.state.config)
        record = self._message(request)
        items = [media_json(record, index) for index in range(len(record.media_urls))]
        page = page_of(items, path=request.path, key="media_list", query=request.query, filters={})
        return web.json_response(page)

    async def fetch(self, request: web.Request) -> web.Response:
        require_account(request, self.state.config)
        record, index = self._media(request)
        return web.json_response(media_json(record, index))

    async def delete(self, request: web.Request) -> web.Response:
        require_account(request, self.state.config)
        record, index = self._media(request)
        del record.media_urls[index]
        del record.media_types[index]
        del record.media_sids[index]
        return web.Response(status=204)

    def _message(self, request: web.Request) -> MessageRecord:
        record = self.state.messages.get(request.match_info["message"])
        if record is None:
            raise not_found(request.path)
        return record

    def _media(self, request: web.Request) -> tuple[MessageRecord, int]:
        record = self._message(request)
        sids = media_sids(record)
        wanted = request.match_info["sid"]
        if wanted not in sids:
            raise not_found(request.path)
        return record, sids.index(wanted)
