"""Twilio's 2010-04-01 list paging: PageSize, Page, PageToken and relative page URIs.

Like Twilio, a page token names the item a page continues after (``PA<sid>``: "page after") or
before (``PB<sid>``: "page before"), not an offset: lists are newest first, so an offset would
shift, and repeat or skip items, whenever a message arrives while a client walks the pages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from botkit.sandbox.errors import ApiError

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000


def _int_param(query: Mapping[str, str], name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit():
        raise ApiError(400, 20001, f"Invalid {name}: {raw!r}")
    return int(raw)


def _index_of(items: Sequence[Mapping[str, Any]], key: str, value: str) -> int | None:
    for index, item in enumerate(items):
        if item.get(key) == value:
            return index
    return None


def _window(
    items: Sequence[Mapping[str, Any]], key: str, token: str, size: int, page: int
) -> tuple[int, int]:
    """[start, stop) of the page that token names; a vanished anchor falls back to Page."""
    if token[:2] not in ("PA", "PB") or len(token) <= 2:
        raise ApiError(400, 20001, f"Invalid PageToken: {token!r}")
    anchor = _index_of(items, key, token[2:])
    if anchor is None:
        start = page * size
        return start, start + size
    if token.startswith("PA"):
        return anchor + 1, anchor + 1 + size
    return max(anchor - size, 0), anchor


def page_of(
    items: Sequence[Mapping[str, Any]],
    *,
    path: str,
    key: str,
    query: Mapping[str, str],
    filters: Mapping[str, str],
    id_field: str = "sid",
) -> dict[str, Any]:
    """One page of items (already filtered and ordered), with Twilio's paging fields."""
    size = _int_param(query, "PageSize", DEFAULT_PAGE_SIZE)
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise ApiError(400, 20001, f"PageSize must be between 1 and {MAX_PAGE_SIZE}")
    page = _int_param(query, "Page", 0)
    token = query.get("PageToken") or ""
    if token:
        start, stop = _window(items, id_field, token, size, page)
    else:
        start, stop = page * size, page * size + size
    chunk = list(items[start:stop])

    def uri(page_number: int, page_token: str | None) -> str:
        params = dict(filters)
        params["PageSize"] = str(size)
        params["Page"] = str(page_number)
        if page_token:
            params["PageToken"] = page_token
        return f"{path}?{urlencode(params)}"

    has_next = stop < len(items) and bool(chunk)
    has_previous = start > 0 and page > 0 and bool(chunk)
    return {
        key: chunk,
        "end": start + len(chunk) - 1 if chunk else start,
        "first_page_uri": uri(0, None),
        "next_page_uri": uri(page + 1, f"PA{chunk[-1][id_field]}") if has_next else None,
        "page": page,
        "page_size": size,
        "previous_page_uri": (
            uri(page - 1, f"PB{chunk[0][id_field]}") if has_previous else None
        ),
        "start": start,
        "uri": uri(page, token or None),
    }
