"""The Content API v1 subset bots use: create, fetch, list and delete templates.

The twilio SDK reaches it at https://content.twilio.com/v1/Content, which botkit's rewriting
http client sends to the sandbox like every other Twilio host.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from botkit.sandbox.auth import require_account
from botkit.sandbox.content import ContentTemplate, template_from_request
from botkit.sandbox.errors import ApiError, not_found
from botkit.sandbox.ids import new_sid
from botkit.sandbox.state import SandboxState

BASE = "/v1/Content"
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000


class ContentApi:
    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post(BASE, self.create),
            web.get(BASE, self.list),
            web.get(BASE + "/{sid}", self.fetch),
            web.delete(BASE + "/{sid}", self.delete),
        ]

    async def create(self, request: web.Request) -> web.Response:
        account = require_account(request, self.state.config)
        try:
            data: Any = await request.json()
        except ValueError:
            raise ApiError(400, 20001, "Body is not valid JSON") from None
        template = template_from_request(new_sid("HX"), account, data)
        self.state.contents[template.sid] = template
        return web.json_response(template.to_json(), status=201)

    async def fetch(self, request: web.Request) -> web.Response:
        require_account(request, self.state.config)
        return web.json_response(self._find(request).to_json())

    async def delete(self, request: web.Request) -> web.Response:
        require_account(request, self.state.config)
        del self.state.contents[self._find(request).sid]
        return web.Response(status=204)

    async def list(self, request: web.Request) -> web.Response:
        """Newest first, with v1 ``meta`` paging (absolute URLs, as Twilio's v1 APIs use)."""
        require_account(request, self.state.config)
        size = _int(request.query.get("PageSize"), DEFAULT_PAGE_SIZE, "PageSize")
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise ApiError(400, 20001, f"PageSize must be between 1 and {MAX_PAGE_SIZE}")
        page = _int(request.query.get("Page"), 0, "Page")
        items = [t.to_json() for t in reversed(self.state.contents.values())]
        chunk = items[page * size : (page + 1) * size]
        base = f"{request.scheme}://{request.host}{BASE}"

        def url(number: int) -> str:
            return f"{base}?{urlencode({'PageSize': size, 'Page': number})}"

        has_next = (page + 1) * size < len(items)
        meta = {
            "first_page_url": url(0),
            "key": "contents",
            "next_page_url": url(page + 1) if has_next else None,
            "page": page,
            "page_size": size,
            "previous_page_url": url(page - 1) if page > 0 else None,
            "url": url(page),
        }
        return web.json_response({"contents": chunk, "meta": meta})

    def _find(self, request: web.Request) -> ContentTemplate:
        sid = request.match_info["sid"]
        template = self.state.contents.get(sid)
        if template is None:
            raise not_found(f"/Content/{sid}")
        return template


def _int(raw: str | None, default: int, name: str) -> int:
    if raw is None or raw == "":
        return default
    if not raw.isdigit():
        raise ApiError(400, 20001, f"Invalid {name}: {raw!r}")
    return int(raw)
