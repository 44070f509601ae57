"""The support bot, assembled: its texts and HELP reply from the knowledge file, its agents,
its records, and the routers of each job (answers, orders, tickets, escalation)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from botkit import (
    Agent,
    AgentPool,
    Bot,
    HandoffTexts,
    KeywordPolicy,
    KeywordReplies,
    Knowledge,
    load_knowledge,
)
from bots.support import config
from bots.support.answers import answers_router
from bots.support.escalation import escalation_router, survey_hook
from bots.support.orders import orders_router
from bots.support.records import SupportRecords
from bots.support.tickets import tickets_router

HANDOFF_TEXTS = HandoffTexts(
    connected="You are now chatting with {agent} from Acme Support.",
    queued="All our agents are busy. You are number {position} in line; stay on this chat.",
    moved_up="You are now number {position} in line.",
    closed="Thanks for chatting with Acme Support. This chat is now closed.",
)


@dataclass(frozen=True)
class Support:
    bot: Bot
    records: SupportRecords
    knowledge: Knowledge


def build(
    knowledge_path: str | Path | None = None,
    agents: Sequence[str | Agent] | None = None,
    survey_window: float | None = None,
) -> Support:
    """The bot and what it keeps; arguments default to the environment (see config.py).
    ``survey_window``: seconds a closed chat's survey takes a rating."""
    knowledge = load_knowledge(knowledge_path or config.knowledge_path())
    bot = Bot(
        "support",
        # STOP and START keep Twilio's wording; HELP names what this bot can do.
        keywords=KeywordPolicy(replies=KeywordReplies(help=knowledge.text("help"))),
        agents=AgentPool(agents or config.agents()),
        handoff_texts=HANDOFF_TEXTS,
    )
    window = survey_window or config.survey_window()
    records = SupportRecords.of(bot, window, config.record_retention())
    bot.on_handoff_closed(survey_hook(bot, records, knowledge, window))
    bot.include(escalation_router(records, knowledge))
    bot.include(orders_router())
    bot.include(tickets_router(records))
    bot.include(answers_router(knowledge))
    return Support(bot, records, knowledge)
