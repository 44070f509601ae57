"""The ``botkit new`` command."""

from __future__ import annotations

from pathlib import Path

import click

from botkit.cli.commands import one_line_errors
from botkit.scaffold.generate import ScaffoldError, create_bot


def botkit_source_tree() -> Path | None:
    """The clone botkit runs from when it is installed editable (a checkout with its
    pyproject.toml beside the package), else None: an installed wheel has no tree to protect."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() else None


def refuse_botkit_tree(directory: Path) -> None:
    """A bot created inside botkit's own clone would write into botkit's tests/ and mix with
    its code: the README's tutorial starts in a directory of the user's own."""
    tree = botkit_source_tree()
    target = directory.resolve()
    if tree is not None and (target == tree or tree in target.parents):
        raise ScaffoldError(
            f"{target} is inside botkit's own source tree ({tree}): create your bot in a "
            "directory of your own, e.g. mkdir ~/mybot-project && cd ~/mybot-project"
        )


@click.command()
@click.argument("name")
@click.option(
    "--dir",
    "directory",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to create the bot.",
)
def new(name: str, directory: Path) -> None:
    """Create the bot NAME: a package with a greeting, FAQ answers from a knowledge file and
    a fallback, and its test."""
    with one_line_errors():
        refuse_botkit_tree(directory)
        created = create_bot(name, directory)
    click.echo(f"Created the bot {name}:")
    for path in created:
        click.echo(f"  {directory / path}")
    steps = [f"cd {directory}"] if directory != Path(".") else []
    steps += [
        f"botkit chat {name}    talk to it in this terminal",
        f"botkit run {name}     serve it, with a phone simulator",
        f"pytest tests/test_{name}.py    (needs pytest and pytest-asyncio)",
    ]
    click.echo("\nTry it:\n" + "\n".join(f"  {step}" for step in steps))
