"""``botkit new NAME``: the real command, the files it writes, and the bot they make."""

from __future__ import annotations

import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from botkit.app.knowledge import load_knowledge
from botkit.cli.main import main
from botkit.scaffold import ScaffoldError, check_name, create_bot
from tests.support.process import BOTKIT, clean_env
from tests.support.pytest_run import run_pytest

RUFF = str(Path(sys.executable).parent / "ruff")


def botkit_new(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real command in a subprocess, as a user types it."""
    return subprocess.run(
        [BOTKIT, "new", *args], cwd=cwd, env=clean_env(), capture_output=True, text=True
    )


def invoke_new(*args: str, cwd: Path, monkeypatch: pytest.MonkeyPatch) -> Result:
    """The same command in this process (click's runner): fast enough for every refusal."""
    monkeypatch.chdir(cwd)
    return CliRunner().invoke(main, ["new", *args])


def files_under(root: Path) -> list[str]:
    return sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )


def test_new_creates_the_package_its_test_and_a_knowledge_file(tmp_path: Path) -> None:
    done = botkit_new("mybot", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert files_under(tmp_path) == [
        "mybot/__init__.py",
        "mybot/handlers.py",
        "mybot/knowledge.yaml",
        "tests/__init__.py",
        "tests/test_mybot.py",
    ]
    assert "botkit run mybot" in done.stdout
    assert "pytest tests/test_mybot.py" in done.stdout
    assert "cd " not in done.stdout  # created here: nowhere to go
    assert done.stderr == ""


def test_the_generated_code_names_the_bot_and_is_lint_clean(tmp_path: Path) -> None:
    create_bot("pizza_bot", tmp_path)
    assert 'Bot("pizza_bot")' in (tmp_path / "pizza_bot/handlers.py").read_text()
    assert "$" not in "".join(p.read_text() for p in tmp_path.rglob("*.py"))
    lint = subprocess.run(
        [RUFF, "check", "--isolated", "--select", "E,F,W,I,B,UP", "--line-length", "100", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 0, lint.stdout


def test_the_generated_bot_loads_as_botkit_run_would(tmp_path: Path) -> None:
    create_bot("loadme", tmp_path)
    probe = (
        "from botkit.app.loader import load_bot\n"
        "bot = load_bot('loadme')\n"
        "print(bot.name)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=clean_env(), capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "loadme"


def test_the_sample_knowledge_file_is_valid_and_answers(tmp_path: Path) -> None:
    create_bot("kb", tmp_path)
    knowledge = load_knowledge(tmp_path / "kb/knowledge.yaml")
    assert set(knowledge.faq) == {"hours", "shipping", "returns"}
    assert knowledge.answer("When are you open?") == knowledge.faq["hours"].answer
    assert knowledge.text("greeting") and knowledge.text("fallback")


def test_dir_option_creates_the_bot_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    done = invoke_new("elsewhere", "--dir", "sub/dir", cwd=tmp_path, monkeypatch=monkeypatch)
    assert done.exit_code == 0, done.output
    assert (tmp_path / "sub/dir/elsewhere/handlers.py").is_file()
    assert (tmp_path / "sub/dir/tests/test_elsewhere.py").is_file()
    assert "  sub/dir/elsewhere/handlers.py\n" in done.stdout
    assert "  cd sub/dir\n" in done.stdout


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("my-bot", "'my-bot' is not a valid Python module name"),
        ("2fast", "'2fast' is not a valid Python module name"),
        ("class", "'class' is not a valid Python module name"),
        ("", "'' is not a valid Python module name"),
        ("json", "'json' is a Python standard library module"),
        ("asyncio", "'asyncio' is a Python standard library module"),
        ("botkit", "'botkit' is an installed module"),
        ("aiohttp", "'aiohttp' is an installed module"),
        ("tests", "'tests' is where the bot's test goes"),
    ],
)
def test_a_bad_name_is_refused_with_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, problem: str
) -> None:
    done = invoke_new(name, cwd=tmp_path, monkeypatch=monkeypatch)
    assert done.exit_code == 2
    assert done.stdout == ""
    assert done.stderr.startswith(f"botkit: {problem}")
    assert done.stderr.count("\n") == 1, done.stderr
    assert files_under(tmp_path) == []


def test_a_refusal_from_the_real_command_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = botkit_new("my-bot", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        "botkit: 'my-bot' is not a valid Python module name: use letters, digits and "
        "underscores, not starting with a digit, and not a Python keyword\n"
    )


@pytest.mark.parametrize(
    ("existing", "reported"),
    [
        ("taken/", "taken"),
        ("taken.py", "taken.py"),
        ("tests/test_taken.py", "tests/test_taken.py"),
    ],
)
def test_nothing_is_overwritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, existing: str, reported: str
) -> None:
    path = tmp_path / existing
    if existing.endswith("/"):
        path.mkdir()
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("mine\n")
    before = files_under(tmp_path)
    done = invoke_new("taken", cwd=tmp_path, monkeypatch=monkeypatch)
    assert done.exit_code == 2
    assert done.stderr == (
        f"botkit: {reported} already exists; choose another name or move it away\n"
    )
    assert files_under(tmp_path) == before
    if not existing.endswith("/"):
        assert path.read_text() == "mine\n"


def test_an_existing_tests_directory_is_reused(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests/test_other.py").write_text("mine\n")
    create_bot("second", tmp_path)
    assert (tmp_path / "tests/test_other.py").read_text() == "mine\n"
    assert (tmp_path / "tests/test_second.py").is_file()
    assert not (tmp_path / "tests/__init__.py").exists()  # their layout, not ours


def test_check_name_accepts_a_fresh_identifier() -> None:
    check_name("my_fresh_bot_4f2a")
    with pytest.raises(ScaffoldError):
        check_name("my fresh bot")


def test_the_generated_test_passes_under_pytest(tmp_path: Path) -> None:
    """The promise of `botkit new`: the bot works and its own test proves it, run the way the
    user runs it (plain `pytest` in the project directory, no configuration)."""
    create_bot("shopbot", tmp_path)
    done = run_pytest(tmp_path, "tests/test_shopbot.py")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "5 passed" in done.stdout


def test_the_generated_test_fails_when_the_bot_is_wrong(tmp_path: Path) -> None:
    """The generated test can fail: break the knowledge file's greeting and it must."""
    create_bot("brokenbot", tmp_path)
    handlers = tmp_path / "brokenbot/handlers.py"
    handlers.write_text(
        handlers.read_text().replace('KNOWLEDGE.text("greeting")', '"Go away."'), encoding="utf-8"
    )
    done = run_pytest(tmp_path, "tests/test_brokenbot.py")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 failed, 4 passed" in done.stdout
    assert "Go away." in done.stdout  # the failure shows what the bot actually said


def test_a_module_python_cannot_describe_still_takes_the_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A module imported without a spec (find_spec raises ValueError) is still in the way."""
    monkeypatch.setitem(sys.modules, "specless_module_4f2a", types.ModuleType("specless"))
    with pytest.raises(ScaffoldError, match="'specless_module_4f2a' is an installed module"):
        check_name("specless_module_4f2a")


def test_new_refuses_to_write_into_botkits_own_clone(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run inside a botkit clone, `botkit new` would write into botkit's own tests/."""
    clone = Path(__file__).resolve().parents[2]
    assert (clone / "pyproject.toml").is_file()
    before = files_under(clone / "tests")
    try:
        result = invoke_new("refused_bot", cwd=clone, monkeypatch=monkeypatch)
        assert result.exit_code == 2, result.output
        assert "botkit's own source tree" in result.output
        assert "directory of your own" in result.output
        assert len(result.output.strip().splitlines()) == 1
    finally:
        for stray in (clone / "refused_bot", clone / "tests" / "test_refused_bot.py"):
            if stray.is_dir():
                shutil.rmtree(stray)
            elif stray.exists():
                stray.unlink()
    assert files_under(clone / "tests") == before
