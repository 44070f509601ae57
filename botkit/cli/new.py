"""The ``botkit new`` command."""

from __future__ import annotations

from pathlib import Path

import click

from botkit.cli.commands import one_line_errors
from botkit.scaffold.generate import create_bot


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
