"""The loop botkit's commands run on: uvloop's where it is installed, asyncio's otherwise, as
BOTKIT_EVENT_LOOP says."""

from __future__ import annotations

import asyncio
import builtins
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from botkit.core import event_loop
from botkit.errors import ConfigError


def running_loop_module() -> str:
    async def module() -> str:
        return type(asyncio.get_running_loop()).__module__

    return event_loop.run(module())


def without_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def refuse(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "uvloop" or name.startswith("uvloop."):
            raise ImportError("No module named 'uvloop'")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "uvloop", raising=False)
    monkeypatch.setattr(builtins, "__import__", refuse)


def test_by_default_commands_run_on_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(event_loop.LOOP_VARIABLE, raising=False)
    assert event_loop.chosen_loop() == "uvloop"
    assert running_loop_module().startswith("uvloop")


def test_without_uvloop_they_run_on_asyncios_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(event_loop.LOOP_VARIABLE, raising=False)
    without_uvloop(monkeypatch)
    assert event_loop.chosen_loop() == "asyncio"
    assert running_loop_module().startswith("asyncio")


def test_asyncios_loop_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(event_loop.LOOP_VARIABLE, "asyncio")
    assert event_loop.chosen_loop() == "asyncio"
    assert running_loop_module().startswith("asyncio")


def test_uvloop_asked_for_and_missing_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(event_loop.LOOP_VARIABLE, "uvloop")
    without_uvloop(monkeypatch)
    with pytest.raises(ConfigError, match="uvloop is not installed"):
        event_loop.new_event_loop()


def test_an_unknown_loop_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(event_loop.LOOP_VARIABLE, "trio")
    with pytest.raises(ConfigError, match="auto, uvloop, asyncio"):
        event_loop.new_event_loop()


def test_botkit_says_so_in_one_line_and_exits_2() -> None:
    botkit = str(Path(sys.executable).parent / "botkit")
    done = subprocess.run(
        [botkit, "worker", "bots.echo"],
        env={"PATH": "/usr/bin:/bin", event_loop.LOOP_VARIABLE: "trio"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "BOTKIT_EVENT_LOOP must be one of" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_timer_fires_well_within_the_pacing_tolerance() -> None:
    """The outbound worker sends on timers; pacing is judged to 10 ms."""

    async def lateness() -> list[float]:
        found = []
        for delay in (0.0002, 0.0007, 0.0013, 0.004, 0.0111):
            began = time.monotonic()
            await asyncio.sleep(delay)
            found.append(time.monotonic() - began - delay)
        return found

    late = event_loop.run(lateness())
    assert min(late) >= -0.001  # libuv counts whole milliseconds, from the loop's cached time
    assert sorted(late)[len(late) // 2] < 0.01
