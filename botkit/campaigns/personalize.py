"""A campaign's message for one recipient: its text or template variables with the recipient's
columns filled in (``{name}``), checked against the CSV's header before anything is queued."""

from __future__ import annotations

import string
from collections.abc import Collection, Mapping

from botkit.campaigns.model import Content
from botkit.errors import ConfigError

_FORMATTER = string.Formatter()


def placeholders(template: str) -> set[str]:
    """The ``{column}`` names a text uses; ConfigError for anything else (``{0}``, ``{a.b}``)."""
    try:
        names = {name for _, name, _, _ in _FORMATTER.parse(template) if name is not None}
    except ValueError as exc:
        raise ConfigError(f"{template!r}: {exc} (write a literal brace as {{{{ or }}}})") from None
    for name in names:
        if not name.isidentifier():
            raise ConfigError(f"{template!r}: {{{name}}} is not a column name")
    return names


def check_columns(content: Content, columns: Collection[str]) -> None:
    """Every placeholder names a column of the audience."""
    texts = [content.text] if content.text else list(content.variables.values())
    for text in texts:
        missing = placeholders(text) - set(columns)
        if missing:
            raise ConfigError(
                f"{text!r} uses {', '.join(sorted(missing))}, which the audience has no "
                f"column for (it has {', '.join(columns) or 'none'})"
            )


def render(text: str, columns: Mapping[str, str]) -> str:
    return text.format_map(columns) if "{" in text else text


def variables_for(content: Content, columns: Mapping[str, str]) -> dict[str, str] | None:
    if not content.content_sid:
        return None
    return {key: render(value, columns) for key, value in content.variables.items()}
