"""Tickets: a problem the bot cannot solve, written down with an id the customer can quote.

"TICKET the lid arrived cracked" opens one at once; "TICKET" alone, or a message that names
the kind of trouble ("my parcel is damaged"), is asked for a description first.

A ticket is opened with ``ctx.once``: if the bot is restarted in the middle of answering, the
message is handled again, and gets the ticket the first attempt opened instead of a second one.
"""

from __future__ import annotations

import re
from typing import Any

from botkit import Ask, Context, Flow, Invalid, Router
from bots.support.priorities import COMMAND_PRIORITY, PROBLEM_PRIORITY
from bots.support.records import SupportRecords, Ticket

#: Fewer words than this is not yet a description someone could act on.
MIN_WORDS = 3
KEYWORDS = ("ticket", "complaint", "problem", "broken", "damaged", "issue")
#: "TICKET", "ticket: the lid...", "Ticket - the lid...": the command, and what follows it.
TICKET_COMMAND = re.compile(r"^ticket\b[\s:,.-]*(?P<description>.*)$", re.IGNORECASE | re.DOTALL)


def description(text: str) -> str:
    if len(text.split()) < MIN_WORDS:
        raise Invalid("Please tell me a little more: what happened, and to which order?")
    return text.strip()


def tickets_router(records: SupportRecords) -> Router:
    router = Router("tickets")
    new_ticket = Flow(
        "ticket",
        [
            Ask(
                "summary",
                "Sorry about that. Please describe the problem in one message (with your "
                "order number if you have one).",
                validate=description,
            )
        ],
    )
    router.add_flow(new_ticket)

    @new_ticket.on_done
    async def open_ticket(ctx: Context, answers: dict[str, Any]) -> None:
        async def write_ticket() -> Ticket:
            number = await records.tickets.next_number()
            ticket = Ticket(
                id=f"T-{number:05d}", customer=str(ctx.message.sender), summary=answers["summary"]
            )
            await records.tickets.put(ticket.id, ticket)
            return ticket

        ticket = await ctx.once("open-ticket", write_ticket)
        await ctx.reply(
            f"Thank you. Ticket {ticket.id} is open; we will get back to you within one "
            "business day."
        )

    @router.intent("ticket", pattern=TICKET_COMMAND, priority=COMMAND_PRIORITY)
    @router.intent("ticket_question", keywords=KEYWORDS, priority=PROBLEM_PRIORITY)
    async def report(ctx: Context) -> None:
        described = ctx.slots.get("description", "")
        given = {"summary": described} if len(described.split()) >= MIN_WORDS else {}
        await ctx.start_flow(new_ticket, **given)

    return router
