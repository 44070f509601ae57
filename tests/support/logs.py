"""Reading the JSON log lines botkit writes, and the one line a rejected webhook leaves.

The ``logs`` fixture (tests/conftest.py) switches botkit to JSON logging on the captured stdout
and hands out a ``JsonLogs``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest


class JsonLogs:
    """The JSON log lines botkit printed to stdout since the last take()."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._capsys = capsys

    def take(self) -> list[dict[str, Any]]:
        out = self._capsys.readouterr().out
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def take_rejection(self, *, status: int, reason: str, path: str) -> dict[str, Any]:
        """Exactly one line since the last take(): the warning that a webhook was rejected."""
        lines = self.take()
        assert len(lines) == 1, lines
        (line,) = lines
        assert line["event"] == "webhook rejected"
        assert line["level"] == "warning"
        assert line["status"] == status
        assert line["reason"] == reason
        assert line["path"] == path
        return line
