"""``botkit chat``: text a bot from the terminal, through the sandbox, as a phone would.

What a handset shows, in text: the bot's words, its media as content type and URL, and its
quick-reply buttons and list picker items as numbered choices (type the number or the title to
tap one, as WhatsApp sends a tap). One prompt, kept below what arrives: a reply that comes while
the person types is printed above the prompt, never after a second one.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from dataclasses import dataclass
from typing import Any, TextIO
from urllib.parse import quote

import aiohttp
import click

from botkit.sandbox import Sandbox

QUIT = "/quit"
PROMPT = "> "
LIST_ITEM = "LIST_ITEM"


@dataclass(frozen=True)
class Choice:
    """A button or list item the person can tap: what is sent when they do."""

    title: str
    payload: str
    list_item: bool
    description: str
    replied_to: str
    sender: str

    def tap(self) -> dict[str, str]:
        """The phone's message for a tap: the title as the text, and the fields WhatsApp adds."""
        fields = (
            {"list_id": self.payload, "list_title": self.title}
            if self.list_item
            else {"button_text": self.title, "button_payload": self.payload}
        )
        return {"body": self.title, "replied_to_sid": self.replied_to, **fields}


class Screen:
    """The terminal: one prompt, shown while the person may type, with what arrives printed
    above it."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.prompting = False
        self._tty = out.isatty()

    def prompt(self) -> None:
        if not self.prompting:
            self.out.write(PROMPT)
            self.out.flush()
            self.prompting = True

    def entered(self) -> None:
        """The person pressed Enter: the cursor is on a fresh line, without a prompt."""
        self.prompting = False

    def show(self, lines: list[str], color: str = "cyan") -> None:
        was_prompting = self.prompting
        if was_prompting:
            # Over the prompt on a terminal; below it (on a line of its own) in a pipe.
            self.out.write("\r\033[K" if self._tty else "\n")
        for line in lines:
            click.secho(line, fg=color, file=self.out)
        self.prompting = False
        if was_prompting:
            self.prompt()


def describe(message: dict[str, Any]) -> tuple[list[str], list[Choice]]:
    """A message from the bot as lines of text, and the choices it offers."""
    lines = [f"bot: {message.get('body') or ''}".rstrip()]
    for item in message.get("media") or []:
        lines.append(f"  [{item.get('content_type') or 'file'}] {item.get('url')}")
    choices: list[Choice] = []
    actions = []
    for action in message.get("actions") or []:
        kind = action.get("type") or "QUICK_REPLY"
        if kind in ("QUICK_REPLY", LIST_ITEM):
            actions.append(action)
        else:  # a link or a number to call: shown, not tapped
            target = action.get("url") or action.get("phone") or ""
            lines.append(f"  [{action.get('title')}] {target}".rstrip())
    if actions and actions[0].get("type") == LIST_ITEM and actions[0].get("button"):
        lines.append(f"  [{actions[0]['button']}]")
    for number, action in enumerate(actions, start=1):
        title = str(action.get("title") or "")
        description = str(action.get("description") or "")
        lines.append(f"  {number}) {title}" + (f" - {description}" if description else ""))
        choices.append(
            Choice(
                title=title,
                payload=str(action.get("id") or title),
                list_item=action.get("type") == LIST_ITEM,
                description=description,
                replied_to=str(message["sid"]),
                sender=str(message.get("from") or ""),
            )
        )
    if choices:
        lines.append("  (type a number or a title to tap it)")
    return lines, choices


def chosen(text: str, choices: list[Choice]) -> Choice | None:
    """The choice the person typed: its number, or its whole title (any case)."""
    if text.isdigit() and 1 <= int(text) <= len(choices):
        return choices[int(text) - 1]
    wanted = text.casefold()
    return next((c for c in choices if c.title.casefold() == wanted), None)


async def chat(sandbox: Sandbox, phone: str, bot_address: str) -> None:
    """Read lines from stdin and send them from phone; print what the bot sends to phone."""
    screen = Screen(sys.stdout)
    click.secho(
        f"Texting {bot_address} as {phone}. Type a message, or {QUIT} to leave.", fg="green"
    )
    offered: list[list[Choice]] = [[]]
    async with sandbox.state.bus.subscribe() as events, aiohttp.ClientSession() as http:
        printer = asyncio.create_task(_print_replies(events, phone, screen, offered))
        try:
            while True:
                screen.prompt()
                line = await asyncio.to_thread(sys.stdin.readline)
                screen.entered()
                if not line or line.strip() == QUIT:
                    break
                text = line.strip()
                if not text:
                    continue
                choice = chosen(text, offered[0])
                payload = choice.tap() if choice else {"body": text}
                to = choice.sender if choice and choice.sender else bot_address
                await _send(http, sandbox.url, phone, {"to": to, **payload}, screen)
        finally:
            await asyncio.sleep(0.2)  # let a reply already on its way be printed
            printer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await printer


async def _send(
    http: aiohttp.ClientSession,
    sandbox_url: str,
    phone: str,
    payload: dict[str, str],
    screen: Screen,
) -> None:
    url = f"{sandbox_url}/sandbox/phones/{quote(phone, safe='')}/messages"
    async with http.post(url, json=payload) as response:
        if response.status >= 400:
            document = await response.json()
            screen.show([f"! {document.get('message', response.status)}"], color="red")


async def _print_replies(
    events: asyncio.Queue[dict[str, Any]], phone: str, screen: Screen, offered: list[list[Choice]]
) -> None:
    shown: set[str] = set()
    while True:
        event = await events.get()
        message = event["data"]
        if event["type"] != "message" or message.get("to") != phone:
            continue
        if message["sid"] in shown or not message["direction"].startswith("outbound"):
            continue
        shown.add(message["sid"])
        lines, choices = describe(message)
        offered[0] = choices  # the latest message's choices are the ones a number taps
        screen.show(lines)
