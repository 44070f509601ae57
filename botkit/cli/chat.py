"""``botkit chat``: text a bot from the terminal, through the sandbox, as a phone would."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from typing import Any

import aiohttp
import click

from botkit.sandbox import Sandbox

QUIT = "/quit"


async def chat(sandbox: Sandbox, phone: str, bot_address: str) -> None:
    """Read lines from stdin and send them from phone; print what the bot sends to phone."""
    click.secho(
        f"Texting {bot_address} as {phone}. Type a message, or {QUIT} to leave.", fg="green"
    )
    async with sandbox.state.bus.subscribe() as events, aiohttp.ClientSession() as http:
        printer = asyncio.create_task(_print_replies(events, phone))
        try:
            while True:
                line = await asyncio.to_thread(_prompt)
                if line is None or line.strip() == QUIT:
                    break
                if not line.strip():
                    continue
                await _send(http, sandbox.url, phone, bot_address, line.strip())
        finally:
            await asyncio.sleep(0.2)  # let a reply already on its way be printed
            printer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await printer


def _prompt() -> str | None:
    sys.stdout.write("> ")
    sys.stdout.flush()
    line = sys.stdin.readline()
    return line if line else None


async def _send(
    http: aiohttp.ClientSession, sandbox_url: str, phone: str, to: str, body: str
) -> None:
    url = f"{sandbox_url}/sandbox/phones/{phone}/messages"
    async with http.post(url, json={"to": to, "body": body}) as response:
        if response.status >= 400:
            document = await response.json()
            click.secho(f"! {document.get('message', response.status)}", fg="red")


async def _print_replies(events: asyncio.Queue[dict[str, Any]], phone: str) -> None:
    shown: set[str] = set()
    while True:
        event = await events.get()
        message = event["data"]
        if event["type"] != "message" or message.get("to") != phone:
            continue
        if message["sid"] in shown or not message["direction"].startswith("outbound"):
            continue
        shown.add(message["sid"])
        media = message.get("num_media", "0")
        extra = f"  [{media} attachment(s)]" if media not in ("0", None) else ""
        click.secho(f"\rbot: {message['body']}{extra}", fg="cyan")
        sys.stdout.write("> ")
        sys.stdout.flush()
