"""Human handoff: moving a customer to a human agent in a Conversation, and back to the bot.

Modules: ``pool`` (``AgentPool`` of ``Agent``s: skills, capacity, presence before first set,
and the texts the bot posts), ``store/`` (the ``HandoffStore``: each conversation's record, a
queue per skill, agents' loads and presence, one atomic step per routing decision; memory and
Redis), ``history/`` (bounded, expiring logs: conversation transcripts and agents' notices),
``transcript`` (the customer's turns with the bot, the session summary, the handover),
``notices`` (telling one agent, never the customer), ``service`` (``Handoff``: what
``ctx.handoff``, the agent commands, ``bot.take_next`` and the agent desk do).
"""
