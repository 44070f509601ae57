"""The examples of docs/testing.md are real tests: run with pytest as a bot author would, each
one passes (so the guide cannot show an API that does not exist or a reply that never comes)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.doc_samples import marked
from tests.support.pytest_run import run_pytest


def test_the_testing_guides_examples_pass(tmp_path: Path) -> None:
    examples = [sample for _, sample in marked("pytest") if sample.where.startswith("docs/")]
    assert len(examples) >= 3
    for number, sample in enumerate(examples):
        (tmp_path / f"test_guide_{number}.py").write_text(sample.code, encoding="utf-8")
    expected = sum(len(re.findall(r"^async def test_", s.code, re.MULTILINE)) for s in examples)
    done = run_pytest(tmp_path, "-W", "ignore::DeprecationWarning")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{expected} passed" in done.stdout, done.stdout
