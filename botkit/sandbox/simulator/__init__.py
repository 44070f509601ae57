"""The simulator: a web page where a person plays the phones that text the bot.

It is static HTML, CSS and vanilla JS shipped as package data (no build step, no CDN: the
sandbox must work offline). The page talks only to the sandbox's own API: /sandbox/phones,
/sandbox/numbers and the /sandbox/events stream.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from aiohttp import web

STATIC_PREFIX = "/sandbox/static"


def static_dir() -> Path:
    """Where the page's files are installed (a plain directory: botkit is not zip-safe)."""
    return Path(str(resources.files(__name__) / "static"))


async def _index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(static_dir() / "index.html", headers={"Cache-Control": "no-cache"})


def routes() -> list[web.AbstractRouteDef]:
    """GET / serves the page; its assets live under /sandbox/static/."""
    return [
        web.get("/", _index),
        web.static(STATIC_PREFIX, static_dir()),
    ]
