"""The fenced code blocks of README.md and docs/*.md, for tests that keep the docs true.

A block may be preceded by an HTML comment (``<!-- ... -->`` on the line just above the fence),
invisible on GitHub, that says how the block is checked when it is not a standalone module:
``botkit new mybot: PATH`` (the file ``botkit new mybot`` writes), ``append to PATH`` (a step
of the README's walk-through).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"

_FENCE = re.compile(
    r"(?:^<!-- (?P<marker>[^\n]*?) -->\n)?^```(?P<language>\w*)\n(?P<code>.*?)^```",
    re.DOTALL | re.MULTILINE,
)


@dataclass(frozen=True)
class Sample:
    """A fenced code block: where it is (``README.md:42``), its language, code and marker."""

    where: str
    language: str
    code: str
    marker: str | None


def documents() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def samples(language: str | None = "python") -> list[Sample]:
    """Every block in that language (None: every block), in document order."""
    found = []
    for path in documents():
        text = path.read_text(encoding="utf-8")
        for match in _FENCE.finditer(text):
            if language is not None and match.group("language") != language:
                continue
            line = text.count("\n", 0, match.start()) + 1
            found.append(
                Sample(
                    f"{path.relative_to(ROOT)}:{line}",
                    match.group("language"),
                    match.group("code"),
                    match.group("marker"),
                )
            )
    return found


def marked(prefix: str) -> list[tuple[str, Sample]]:
    """Blocks whose marker starts with prefix, with the rest of the marker."""
    return [
        (sample.marker.removeprefix(prefix).strip(), sample)
        for sample in samples(None)
        if sample.marker is not None and sample.marker.startswith(prefix)
    ]
