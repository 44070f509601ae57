"""What a test expects of a reply, said back in words when the reply is not that.

One object both checks a message and describes itself, so the failure message ("expected a
reply containing 'Hello' with buttons Yes | No") can never drift from what was checked.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from botkit.testing.messages import Message


class BadExpectation(ValueError):
    """An expectation that cannot be checked (a bad regex, a wrong type): the test's own bug."""


@dataclass(frozen=True)
class ReplyExpectation:
    """Conditions a message must all meet. Unset ones (None) are not checked.

    contains: a substring of the text. equals: the whole text. matches: a regular expression
    found in the text (``re.search``). media: True for "has media", False for "has none", or a
    substring one of its media URLs must contain. buttons: the button titles, in order.
    template: True for "sent as a Content template", False for "free-form text", or the
    template's SID.
    """

    contains: str | None = None
    equals: str | None = None
    matches: str | None = None
    media: bool | str | None = None
    buttons: Sequence[str] | None = None
    template: bool | str | None = None

    def __post_init__(self) -> None:
        if self.matches is not None:
            try:
                re.compile(self.matches)
            except re.error as exc:
                raise BadExpectation(f"matches={self.matches!r} is not a regex: {exc}") from None
        if self.buttons is not None and isinstance(self.buttons, str):
            raise BadExpectation(
                f"buttons= takes a list of titles, e.g. buttons=[{self.buttons!r}]"
            )

    def describe(self) -> str:
        """``a reply containing 'Hello' with media``: the expectation in words."""
        parts = ["a reply"]
        if self.equals is not None:
            parts.append(f"saying exactly {self.equals!r}")
        if self.contains is not None:
            parts.append(f"containing {self.contains!r}")
        if self.matches is not None:
            parts.append(f"matching /{self.matches}/")
        if self.media is True:
            parts.append("with media")
        elif self.media is False:
            parts.append("without media")
        elif isinstance(self.media, str):
            parts.append(f"with media {self.media!r}")
        if self.buttons is not None:
            parts.append("with buttons " + " | ".join(self.buttons))
        if self.template is True:
            parts.append("sent as a template")
        elif self.template is False:
            parts.append("as free-form text")
        elif isinstance(self.template, str):
            parts.append(f"sent as template {self.template}")
        return " ".join(parts)

    def mismatch(self, message: Message) -> str | None:
        """Why message does not meet the expectation, or None when it does."""
        text = self.text_mismatch(message.body)
        if text is not None:
            return text
        if self.media is True and not message.media:
            return "it has no media"
        if self.media is False and message.media:
            return "it has media: " + ", ".join(message.media_urls)
        if isinstance(self.media, str) and not any(self.media in u for u in message.media_urls):
            found = ", ".join(message.media_urls) or "none"
            return f"its media are {found}"
        if self.buttons is not None and list(self.buttons) != message.button_titles:
            found = " | ".join(message.button_titles) or "none"
            return f"its buttons are {found}"
        if self.template is True and message.content_sid is None:
            return "it is free-form text, not a template"
        if self.template is False and message.content_sid is not None:
            return f"it is template {message.content_sid}"
        if isinstance(self.template, str) and message.content_sid != self.template:
            return f"its template is {message.content_sid or 'none (free-form text)'}"
        return None

    def text_mismatch(self, body: str) -> str | None:
        """Why a text does not meet the text conditions (equals, contains, matches), or None."""
        if self.equals is not None and body != self.equals:
            return "its text differs"
        if self.contains is not None and self.contains not in body:
            return "its text differs"
        if self.matches is not None and re.search(self.matches, body) is None:
            return "its text does not match"
        return None
