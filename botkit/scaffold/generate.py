"""``botkit new NAME``: a working bot, its test and a knowledge file, ready to edit.

The name is checked before anything is written, so a refused name leaves the directory as it
was: it must be importable (``botkit run NAME`` imports it), must not hide a module Python
would otherwise import under that name (a bot called ``json`` or ``botkit`` breaks everything
that imports the real one), and must not overwrite anything.

The files come from ``botkit/scaffold/templates``: ``package/`` becomes ``NAME/`` and
``tests/`` stays ``tests/``; in ``*.tmpl`` files ``$name`` is replaced by the bot's name and
the suffix dropped. They are ordinary text so they can be read and changed as the code they
become.
"""

from __future__ import annotations

import importlib.util
import keyword
import sys
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from string import Template

from botkit.errors import BotkitError

TEMPLATES = files("botkit.scaffold") / "templates"
_TEMPLATE_SUFFIX = ".tmpl"
#: Where the generated bot's test goes; a bot with this name would be shadowed by it.
TESTS_DIR = "tests"


class ScaffoldError(BotkitError):
    """``botkit new`` cannot create the bot; the message says why and what to do."""


@dataclass(frozen=True)
class PlannedFile:
    """A file the scaffold will write: where, and its text."""

    path: Path
    text: str


def create_bot(name: str, root: Path) -> list[Path]:
    """Write the bot NAME under root; return the files written, relative to root."""
    check_name(name)
    planned = plan_files(name, root)
    conflicts = _conflicts(name, root, planned)
    if conflicts:
        raise ScaffoldError(f"{conflicts[0]} already exists; choose another name or move it away")
    for item in planned:
        item.path.parent.mkdir(parents=True, exist_ok=True)
        item.path.write_text(item.text, encoding="utf-8")
    return [item.path.relative_to(root) for item in planned]


def check_name(name: str) -> None:
    """Refuse a name that cannot be imported or would hide another module."""
    if not name.isidentifier() or keyword.iskeyword(name):
        raise ScaffoldError(
            f"{name!r} is not a valid Python module name: use letters, digits and underscores, "
            "not starting with a digit, and not a Python keyword"
        )
    if name == TESTS_DIR:
        raise ScaffoldError(f"{name!r} is where the bot's test goes; choose another name")
    if name in sys.stdlib_module_names:
        raise ScaffoldError(f"{name!r} is a Python standard library module; choose another name")
    if _installed(name):
        raise ScaffoldError(f"{name!r} is an installed module; choose another name")


def plan_files(name: str, root: Path) -> list[PlannedFile]:
    """Every file the templates produce for NAME, with its destination under root.

    ``tests/__init__.py`` only comes with a new tests directory: it makes pytest put the
    project root on ``sys.path`` so the test can import the bot, while a project that already
    has tests keeps the layout it chose.
    """
    planned = []
    tests_exist = (root / TESTS_DIR).exists()
    for relative, template in _walk(TEMPLATES, ()):
        parts = list(relative)
        if tests_exist and parts == [TESTS_DIR, "__init__.py"]:
            continue
        if parts[0] == "package":
            parts[0] = name
        text = template.read_text(encoding="utf-8")
        if parts[-1].endswith(_TEMPLATE_SUFFIX):
            parts[-1] = Template(parts[-1].removesuffix(_TEMPLATE_SUFFIX)).substitute(name=name)
            text = Template(text).substitute(name=name)
        planned.append(PlannedFile(root.joinpath(*parts), text))
    return planned


Relative = tuple[str, ...]


def _walk(folder: Traversable, prefix: Relative) -> list[tuple[Relative, Traversable]]:
    found: list[tuple[Relative, Traversable]] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name == "__pycache__":
            continue
        if entry.is_dir():
            found += _walk(entry, (*prefix, entry.name))
        else:
            found.append(((*prefix, entry.name), entry))
    return found


def _conflicts(name: str, root: Path, planned: list[PlannedFile]) -> list[Path]:
    """Paths in the way: the package directory, a module of the same name, any file we write."""
    candidates = [root / name, root / f"{name}.py", *(item.path for item in planned)]
    return [path.relative_to(root) for path in candidates if path.exists()]


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a broken installed package still takes the name
        return True
