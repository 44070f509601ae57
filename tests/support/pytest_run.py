"""Running pytest on a generated project in a subprocess, as its author would: plain ``pytest``
in the project directory, without this repository's configuration."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.process import clean_env

PYTEST = str(Path(sys.executable).parent / "pytest")


def run_pytest(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTEST, "-q", "-p", "no:cacheprovider", *args],
        cwd=project,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
