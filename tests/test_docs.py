"""The docs stay true to the code: the generated configuration reference is current, the README's
settings table names exactly the real settings, and every Python sample at least compiles."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from botkit.config_reference import COMMAND, render_reference
from botkit.errors import ConfigError
from botkit.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
_PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
_LINK = re.compile(r"\]\(((?!https?://|#)[^)#\s]+)(?:#[^)]*)?\)")


def documents() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def python_blocks() -> list[tuple[str, str]]:
    """(where, code) for every ```python block in the README and the guides."""
    found = []
    for path in documents():
        text = path.read_text(encoding="utf-8")
        for match in _PYTHON_BLOCK.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append((f"{path.relative_to(ROOT)}:{line}", match.group(1)))
    return found


def test_configuration_reference_is_current() -> None:
    committed = (DOCS / "configuration.md").read_text(encoding="utf-8")
    assert committed == render_reference(), f"docs/configuration.md is stale: run `{COMMAND}`"


def test_every_setting_is_in_the_reference_with_its_description() -> None:
    reference = render_reference()
    for field in Settings.model_fields.values():
        assert field.alias is not None and field.description
        assert f"| `{field.alias}` |" in reference
        assert " ".join(field.description.split()) in reference


def test_the_reference_refuses_a_setting_without_a_description(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    field = Settings.model_fields["log_level"]
    monkeypatch.setattr(field, "description", None)
    with pytest.raises(ValueError, match=r"Settings\.log_level has no description"):
        render_reference()


def test_the_reference_refuses_a_type_it_cannot_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Settings.model_fields["log_level"], "annotation", bytes)
    with pytest.raises(ValueError, match=r"no reference name for the type <class 'bytes'>"):
        render_reference()


def test_the_documented_command_prints_the_reference() -> None:
    printed = subprocess.run(
        [sys.executable, "-m", "botkit.config_reference"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    assert printed == (DOCS / "configuration.md").read_text(encoding="utf-8")


def test_the_references_example_error_is_the_real_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOTKIT_SESSION_TTL", "0")
    with pytest.raises(ConfigError) as raised:
        load_settings()
    example = "invalid settings: BOTKIT_SESSION_TTL: Input should be greater than 0"
    assert str(raised.value) == example
    assert " ".join(example.split()) in " ".join(render_reference().split())


def test_readme_settings_table_names_exactly_the_settings() -> None:
    text = README.read_text(encoding="utf-8")
    table = text.split("## Settings", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\| `([A-Z_]+)` \|", table, re.MULTILINE)
    assert sorted(listed) == sorted(f.alias for f in Settings.model_fields.values() if f.alias)


def test_there_are_python_samples_to_check() -> None:
    # Guards the extraction itself: a broken regex would make the compile test vacuous.
    assert len(python_blocks()) >= 3


@pytest.mark.parametrize(("where", "code"), python_blocks(), ids=[w for w, _ in python_blocks()])
def test_python_sample_compiles(where: str, code: str) -> None:
    compile(code, where, "exec")


@pytest.mark.parametrize("path", documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_point_at_files_that_exist(path: Path) -> None:
    for target in _LINK.findall(path.read_text(encoding="utf-8")):
        assert (path.parent / target).exists(), f"{path.name} links to missing {target}"
