"""``botkit new``: generating a new bot project from the templates in ``templates/``."""

from botkit.scaffold.generate import ScaffoldError, check_name, create_bot

__all__ = ["ScaffoldError", "check_name", "create_bot"]
