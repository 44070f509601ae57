"""The README's "first bot in five minutes" is what `botkit new` really does: the files it
lists are the files created, the handlers it shows are the handlers written, and following its
steps (a knowledge topic, a test) gives a bot whose tests pass."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from botkit.scaffold import create_bot
from tests.support.doc_samples import marked
from tests.support.pytest_run import run_pytest

NAME = "mybot"


def generated(tmp_path: Path) -> Path:
    create_bot(NAME, tmp_path)
    return tmp_path


def test_the_listed_files_are_the_files_created(tmp_path: Path) -> None:
    (listing,) = [sample for what, sample in marked(f"botkit new {NAME}:") if what == "files"]
    listed = sorted(line.split()[0] for line in listing.code.splitlines() if line.strip())
    project = generated(tmp_path)
    created = sorted(str(p.relative_to(project)) for p in project.rglob("*") if p.is_file())
    assert listed == created


def test_the_files_shown_are_the_files_written(tmp_path: Path) -> None:
    shown = [(what, sample) for what, sample in marked(f"botkit new {NAME}:") if what != "files"]
    assert shown, "the README shows no generated file"
    project = generated(tmp_path)
    for path, sample in shown:
        written = (project / path).read_text(encoding="utf-8")
        assert sample.code == written, f"{sample.where} differs from what botkit new writes"


def test_following_the_steps_gives_a_bot_whose_tests_pass(tmp_path: Path) -> None:
    steps = marked("append to")
    assert {path for path, _ in steps} == {f"{NAME}/knowledge.yaml", f"tests/test_{NAME}.py"}
    project = generated(tmp_path)
    test_file = f"tests/test_{NAME}.py"
    before = passed(run_pytest(project, test_file))
    for path, sample in steps:
        target = project / path
        target.write_text(target.read_text(encoding="utf-8") + "\n" + sample.code, "utf-8")
    after = passed(run_pytest(project, test_file))
    assert after == before + 1, "the README's test did not run"


def test_the_generated_tests_run_without_warnings(tmp_path: Path) -> None:
    """A newcomer's first test run shows no warning they cannot fix (botkit's own HTTP client
    once tripped aiohttp's BasicAuth deprecation on every send)."""
    done = run_pytest(generated(tmp_path), f"tests/test_{NAME}.py")
    passed(done)
    assert "warnings summary" not in done.stdout, done.stdout


def test_the_install_line_names_every_test_plugin() -> None:
    """Step 4's install line: without pytest-timeout, pytest warns about an unknown option."""
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    (line,) = [line for line in readme.splitlines() if line.startswith("**4. Test it.**")]
    for plugin in ("pytest", "pytest-asyncio", "pytest-timeout"):
        assert f" {plugin}" in line.split("`")[1], line


def test_the_tutorial_says_where_to_run_botkit_new() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    before_new = readme.split("botkit new mybot\n```")[0]
    assert "outside the botkit clone" in before_new
    assert "mkdir ~/mybot-project && cd ~/mybot-project" in before_new


def passed(done: subprocess.CompletedProcess[str]) -> int:
    """How many tests passed; fails the test when any did not."""
    assert done.returncode == 0, done.stdout + done.stderr
    found = re.search(r"(\d+) passed", done.stdout)
    assert found is not None, done.stdout
    return int(found.group(1))
