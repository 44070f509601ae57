"""Twilio's 2010-04-01 list paging: PageSize, Page, PageToken and relative page URIs."""

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


def page_of(
    items: Sequence[Any],
    *,
    path: str,
    key: str,
    query: Mapping[str, str],
    filters: Mapping[str, str],
) -> dict[str, Any]:
    """One page of items (already filtered and ordered), with Twilio's paging fields."""
    size = _int_param(query, "PageSize", DEFAULT_PAGE_SIZE)
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise ApiError(400, 20001, f"PageSize must be between 1 and {MAX_PAGE_SIZE}")
    page = _int_param(query, "Page", 0)
    token = query.get("PageToken")
    start = page * size
    if token:
        if not (token.startswith("PT") and token[2:].isdigit()):
            raise ApiError(400, 20001, f"Invalid PageToken: {token!r}")
        start = int(token[2:])
    chunk = items[start : start + size]

    def uri(page_number: int, first_index: int | None) -> str:
        params = dict(filters)
        params["PageSize"] = str(size)
        params["Page"] = str(page_number)
        if first_index is not None:
            params["PageToken"] = f"PT{first_index}"
        return f"{path}?{urlencode(params)}"

    has_next = start + size < len(items)
    return {
        key: chunk,
        "end": start + len(chunk) - 1 if chunk else start,
        "first_page_uri": uri(0, None),
        "next_page_uri": uri(page + 1, start + size) if has_next else None,
        "page": page,
        "page_size": size,
        "previous_page_uri": uri(page - 1, max(start - size, 0)) if page > 0 else None,
        "start": start,
        "uri": uri(page, start if token else None),
    }
