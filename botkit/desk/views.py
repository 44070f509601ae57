"""What the desk page reads: the team, one agent's conversations and a conversation's history,
as JSON. Customers appear by their masked number: the agent helps them without needing it."""

from __future__ import annotations

from typing import Any

from botkit.handoff.history.protocol import HistoryEntry
from botkit.handoff.service import Handoff
from botkit.handoff.store.protocol import HandoffRecord
from botkit.logging import mask_phone

#: How many of each queue the desk lists (it shows the length of the rest).
QUEUE_SHOWN = 50


def record_view(record: HandoffRecord) -> dict[str, Any]:
    """Times are moments (botkit.core.clock seconds): the page counts waits on from the
    state's ``now``, so a state changes only when something happened."""
    return {
        "conversation_sid": record.conversation_sid,
        "customer": mask_phone(record.customer) if record.customer else None,
        "skill": record.skill,
        "priority": record.priority,
        "reason": record.reason,
        "queued_at": record.queued_at,
        "assigned_at": record.assigned_at,
    }


def entry_view(entry: HistoryEntry) -> dict[str, Any]:
    shown = entry.model_dump(mode="json")
    if entry.role == "customer" and entry.author:
        shown["author"] = mask_phone(entry.author)
    return shown


async def desk_state(handoff: Handoff, agent: str) -> dict[str, Any]:
    """Everything the page shows besides histories: the agent, the team, the queues and the
    agent's own conversations. (The moment it was read, ``now``, is added by the caller.)"""
    team = await handoff.team(QUEUE_SHOWN)
    me = next((a for a in team.agents if a.name == agent), None)
    mine = await handoff.store.holding(agent)
    return {
        "me": {
            "agent": agent,
            "presence": me.presence if me else "offline",
            "load": len(mine),
            "capacity": me.capacity if me else 0,
            "skills": list(me.skills) if me else [],
        },
        "team": [
            {
                "agent": a.name,
                "presence": a.presence,
                "load": a.load,
                "capacity": a.capacity,
                "skills": list(a.skills),
            }
            for a in team.agents
        ],
        "queues": [
            {
                "skill": skill,
                "length": team.lengths[skill],
                "waiting": [record_view(r) for r in waiting],
            }
            for skill, waiting in team.queues.items()
        ],
        "mine": [record_view(r) for r in mine],
    }
