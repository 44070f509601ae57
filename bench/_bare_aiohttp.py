"""System A of bench/inbound.py: bare aiohttp in one process, the floor for a Python webhook.

It reads the form (``await request.post()``) and answers the empty TwiML botkit answers, and
does nothing else: no signature, no queue. Usage: ``python bench/_bare_aiohttp.py PORT``.
"""

from __future__ import annotations

import sys

from aiohttp import web

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response />'


async def messages(request: web.Request) -> web.Response:
    await request.post()
    return web.Response(text=EMPTY_TWIML, content_type="text/xml")


def main(port: int) -> None:
    app = web.Application()
    app.router.add_post("/twilio/messages", messages)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


if __name__ == "__main__":
    main(int(sys.argv[1]))
