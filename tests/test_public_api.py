"""botkit's public API: every exported name resolves, lazily (PEP 562), and importing one part
of botkit does not import the rest."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import botkit

INIT = Path(botkit.__file__)


def _typed_imports() -> dict[str, str]:
    """name -> module, from the TYPE_CHECKING block type checkers read."""
    tree = ast.parse(INIT.read_text())
    block = next(n for n in tree.body if isinstance(n, ast.If))
    return {
        alias.asname or alias.name: node.module or ""
        for node in block.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }


def test_the_lazy_map_and_the_typed_imports_name_the_same_things() -> None:
    assert _typed_imports() == botkit._EXPORTS
    assert sorted(botkit.__all__) == sorted(botkit._EXPORTS)


def test_every_exported_name_resolves_to_the_object_in_its_module() -> None:
    for name, module in botkit._EXPORTS.items():
        value = getattr(botkit, name)
        assert value is getattr(sys.modules[module], name), name


def test_an_unknown_name_is_an_attribute_error() -> None:
    try:
        botkit.NoSuchThing  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:
        raise AssertionError("botkit.NoSuchThing resolved")


def _modules_after(statement: str) -> list[str]:
    code = f"import sys, json\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return list(json.loads(done.stdout))


def test_importing_botkit_imports_none_of_its_parts() -> None:
    loaded = _modules_after("import botkit")
    assert [m for m in loaded if m.startswith("botkit.")] == []


def test_importing_the_sandbox_imports_nothing_of_the_pipeline() -> None:
    loaded = _modules_after("import botkit.sandbox")
    pipeline = ("app", "contexts", "flows", "handoff", "inbound", "outbound", "runtime",
                "server", "sessions", "settings", "compliance", "conversations", "records")
    assert [m for m in loaded if m.split(".")[:2][-1] in pipeline and m.startswith("botkit.")] == []
    assert "redis" not in loaded
