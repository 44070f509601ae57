"""Customer-support automation: greeting and FAQ answers from a knowledge file the operator
edits (knowledge.yaml), order status as a flow that remembers what it was told, tickets, a
human agent when asked (with the customer's place in line), a survey after the agent closes,
and STOP/HELP handled the way carriers require.

Run it with ``botkit run bots.support`` (or ``botkit chat bots.support``); its tests, in
tests/bots/test_support.py, show every feature in use.
"""

from bots.support.bot import Support, build

support = build()
bot = support.bot
records = support.records

__all__ = ["Support", "bot", "build", "records", "support"]
