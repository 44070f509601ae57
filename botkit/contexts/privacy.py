"""What a bot's privacy hooks are given, and how they are kept.

botkit exports and erases what its own stores hold about a person (``botkit privacy``,
botkit/runtime/privacy.py). A bot may keep more: tickets, orders, survey answers in its records.
``@bot.on_privacy_export`` and ``@bot.on_privacy_erase`` let it add those, so that one command
answers a data subject's request whole. Each hook gets a ``PrivacyRequest``; an export hook
returns anything JSON-ready (it appears under the hook's name in the export), an erase hook
how many records it removed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

ExportHook = Callable[["PrivacyRequest"], Awaitable[Any]]
EraseHook = Callable[["PrivacyRequest"], Awaitable[int | None]]
Exporter = TypeVar("Exporter", bound=ExportHook)
Eraser = TypeVar("Eraser", bound=EraseHook)


@dataclass(frozen=True)
class PrivacyRequest:
    """One person's export or erasure. ``number``: their bare E.164 number; ``masked``: the
    form to log or print."""

    number: str
    masked: str

    @property
    def addresses(self) -> tuple[str, str]:
        """Every address a bot may have stored them under: SMS/MMS and WhatsApp."""
        return (self.number, f"whatsapp:{self.number}")

    def is_address(self, address: str | None) -> bool:
        """Whether ``address`` (with or without a channel prefix) is theirs."""
        return address is not None and address.strip().removeprefix("whatsapp:") == self.number


@dataclass
class PrivacyHooks:
    """The hooks a bot registered, in order."""

    exporters: list[ExportHook] = field(default_factory=list)
    erasers: list[EraseHook] = field(default_factory=list)


def hook_name(hook: Callable[..., Any]) -> str:
    """How a hook's part is labelled in an export and an erasure's counts."""
    return str(getattr(hook, "__name__", None) or type(hook).__name__)
