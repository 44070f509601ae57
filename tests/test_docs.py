"""The docs stay true to the code: the generated configuration reference is current, the README's
settings table names exactly the real settings, every Python sample compiles and every
standalone one runs, and every relative link leads somewhere. (The README's first-bot
walk-through is checked by tests/test_readme_first_bot.py.)"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from botkit.cli.config_reference import COMMAND, heading_anchor, render_reference
from botkit.errors import ConfigError
from botkit.settings import Settings, load_settings
from tests.support.doc_samples import DOCS, README, ROOT, Sample, documents, samples

_LINK = re.compile(r"\]\(((?!https?://)[^)\s]*)\)")
_HEADING = re.compile(r"^#+ (.+)$", re.MULTILINE)


def standalone_python() -> list[Sample]:
    return [sample for sample in samples() if sample.marker is None]


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
        [sys.executable, "-m", "botkit.cli.config_reference"],
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
    # Guards the extraction itself: a broken regex would make the sample tests vacuous.
    assert len(standalone_python()) >= 15


def test_heading_anchors_are_githubs() -> None:
    assert heading_anchor("Opt-outs: STOP, START, HELP") == "opt-outs-stop-start-help"
    assert heading_anchor("Your first bot in five minutes") == "your-first-bot-in-five-minutes"
    assert heading_anchor("BOTKIT_RATES") == "botkit_rates"


@pytest.mark.parametrize("sample", samples(), ids=lambda s: s.where)
def test_python_sample_compiles(sample: Sample) -> None:
    compile(sample.code, sample.where, "exec")


@pytest.mark.parametrize("sample", standalone_python(), ids=lambda s: s.where)
def test_standalone_python_sample_runs(sample: Sample) -> None:
    """Every sample without a marker is a whole module: importing it must work, so a wrong
    name, argument or decorator in the docs fails here (handlers are defined, not run)."""
    namespace: dict[str, object] = {"__name__": "docs_sample"}
    exec(compile(sample.code, sample.where, "exec"), namespace)


@pytest.mark.parametrize("path", documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_point_at_files_and_headings_that_exist(path: Path) -> None:
    for link in _LINK.findall(path.read_text(encoding="utf-8")):
        target, _, anchor = link.partition("#")
        document = (path.parent / target).resolve() if target else path
        assert document.exists(), f"{path.name} links to missing {target}"
        if anchor:
            headings = _HEADING.findall(document.read_text(encoding="utf-8"))
            anchors = {heading_anchor(heading) for heading in headings}
            assert anchor in anchors, f"{path.name} links to missing #{anchor} in {document.name}"
