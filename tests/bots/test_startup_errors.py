"""The example bots' own settings, wrong, as an operator meets them: ``botkit run`` stops with
one line naming the file or variable, exit status 2, no traceback."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.process import BOTKIT, clean_env


def run_botkit(bot: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BOTKIT, "run", bot, "--port", "0"],
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize(
    ("bot", "setting", "value", "expected"),
    [
        ("bots.support", "SUPPORT_KNOWLEDGE", "faq: [oops", "knowledge.yaml: line 1, column 11"),
        ("bots.support", "SUPPORT_AGENTS", " , ", "SUPPORT_AGENTS: name at least one agent"),
        ("bots.whatsapp_shop", "SHOP_OWNERS", "+1555,boss", "SHOP_OWNERS: '+1555' is not"),
        ("bots.whatsapp_shop", "SHOP_MEDIA_URL", "http://cdn.test", "over https"),
    ],
)
def test_bad_bot_settings_stop_start_up_with_one_line(
    tmp_path: Path, bot: str, setting: str, value: str, expected: str
) -> None:
    if setting == "SUPPORT_KNOWLEDGE":  # the setting names a file; the problem is inside it
        knowledge = tmp_path / "knowledge.yaml"
        knowledge.write_text(value)
        value = str(knowledge)
    run = run_botkit(bot, **{setting: value})
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("botkit: "), run.stderr
    assert expected in lines[0]
