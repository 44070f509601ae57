"""The agent desk: a web page where the agents of ``Bot(agents=AgentPool(...))`` work.

Served by ``botkit run`` under ``/desk/`` (botkit/server/app.py mounts it), in the same
process as the bot and through the same runtime: it reads the handoff's queues, agents and
histories from the stores, posts an agent's messages into Conversations as that agent through
the outbound queue (so Twilio delivers them as any chat participant's), and runs what the
agent clicks through the same Handoff the agent commands use.

- ``auth.py``: sign-in by a token per agent (``BOTKIT_DESK_TOKENS``; in development mode, the
  agent's name), required on every request.
- ``api.py``: the JSON endpoints; a conversation is only ever shown to, or changed by, the
  agent who has it (transferred ones included, once they are theirs).
- ``stream.py``: the live feed (Server-Sent Events) of the queues, the agent's conversations,
  their new messages and the agent's notices.
- ``static/``: the page (HTML, CSS and vanilla JS; no build step, no CDN).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def static_dir() -> Path:
    """Where the page's files are installed (a plain directory: botkit is not zip-safe)."""
    return Path(str(resources.files(__name__) / "static"))
