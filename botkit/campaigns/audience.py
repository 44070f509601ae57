"""Reading an audience from CSV: one recipient a row, with a header naming the columns.

The phone column is ``phone`` (or ``to``, ``number``, ``mobile``, ``whatsapp``: the first the
header has), and every column is there for the message's ``{placeholders}``. A row that cannot
be sent to is reported with its line number and the reason, and the rest go on: a typo on line
7,302 should not stop a campaign of ten thousand. A number seen on an earlier line is reported
as a duplicate of that line.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from botkit.campaigns.model import Recipient
from botkit.errors import ConfigError
from botkit.twilio.address import Address, parse_address

PHONE_COLUMNS = ("phone", "to", "number", "mobile", "whatsapp")


@dataclass(frozen=True)
class BadRow:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(frozen=True)
class Row:
    line: int
    recipient: Recipient


@dataclass(frozen=True)
class Audience:
    """The columns every recipient has, and the rows (read lazily, once)."""

    columns: list[str]
    rows: Iterator[Row | BadRow]


def read_audience(lines: Iterable[str], phone_column: str | None = None) -> Audience:
    """A CSV audience; ConfigError when the header names no phone column."""
    reader = csv.reader(lines)
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        raise ConfigError("the CSV is empty: it needs a header row, e.g. phone,name") from None
    column = _phone_column(header, phone_column)

    def numbered() -> Iterator[tuple[int, dict[str, str] | BadRow]]:
        for fields in reader:
            line = reader.line_num
            if not any(f.strip() for f in fields):
                continue  # a blank line
            if len(fields) != len(header):
                yield line, BadRow(line, f"{len(fields)} fields, but the header has {len(header)}")
                continue
            yield line, dict(zip(header, (f.strip() for f in fields), strict=True))

    return Audience(header, _recipients(numbered(), column))


def audience_of(items: Iterable[str | Mapping[str, object]]) -> Audience:
    """An audience given in code: numbers, or mappings with a phone column (``bot.broadcast``);
    item N is reported as line N. The columns are the first mapping's."""
    # Values as the text will show them: a number as its digits, None as nothing.
    listed = [
        {"phone": item} if isinstance(item, str)
        else {str(k): "" if v is None else str(v) for k, v in item.items()}
        for item in items
    ]
    header = list(listed[0]) if listed else ["phone"]
    column = _phone_column(header, None)
    numbered = ((n, row) for n, row in enumerate(listed, start=1))
    return Audience(header, _recipients(numbered, column))


def _recipients(
    numbered: Iterable[tuple[int, dict[str, str] | BadRow]], column: str
) -> Iterator[Row | BadRow]:
    seen: dict[str, int] = {}
    for line, columns in numbered:
        if isinstance(columns, BadRow):
            yield columns
            continue
        raw = columns.get(column, "")
        try:
            address = _parse(raw)
        except ValueError as exc:
            yield BadRow(line, str(exc) if raw else f"no {column}")
            continue
        to = str(address)
        # One person on SMS and on WhatsApp is still one person (as the ledger sees them).
        first = seen.setdefault(address.number, line)
        if first != line:
            yield BadRow(line, f"duplicate of line {first} ({to})")
            continue
        yield Row(line, Recipient(to=to, columns=columns))


def _parse(raw: str) -> Address:
    # Uncached: a campaign's numbers are all different, and would only churn the cache of the
    # numbers a bot sees every day.
    address: Address = parse_address.__wrapped__(raw)
    return address


def _phone_column(header: list[str], wanted: str | None) -> str:
    if wanted is not None:
        if wanted not in header:
            raise ConfigError(
                f"the audience has no column {wanted!r} (its columns are {', '.join(header)})"
            )
        return wanted
    for name in PHONE_COLUMNS:
        if name in header:
            return name
    raise ConfigError(
        f"the audience has no phone column ({' or '.join(PHONE_COLUMNS)}); "
        f"its columns are {', '.join(header) or 'none'}"
    )
