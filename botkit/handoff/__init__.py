"""Human handoff: moving a customer to a human agent in a Conversation, and back to the bot.

Modules: ``pool`` (``AgentPool``: who can take conversations, and how many each), ``store``
(the ``HandoffStore`` protocol: each conversation's mode, agent load and the waiting queue, with
``MemoryHandoffStore``), ``store_redis`` (its Redis twin), ``service`` (``Handoff``: what
``ctx.handoff``, ``ctx.resume_bot``, ``bot.take_next`` do), ``commands`` (the built-in agent
commands ``/resume``, ``/close``, ``/next``).
"""
