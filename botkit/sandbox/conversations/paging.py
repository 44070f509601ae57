"""Conversations v1 list paging: a ``meta`` object with absolute page URLs.

Unlike the 2010 API (relative ``next_page_uri`` beside the list), v1 lists nest their paging in
``meta`` with absolute URLs and the name of the list (``key``); twilio-python follows
``meta.next_page_url`` as-is, so it must point somewhere the client can reach.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from botkit.sandbox.conversations.errors import invalid

DEFAULT_PAGE_SIZE = 50


def _int_param(query: Mapping[str, str], name: str, default: int) -> int:
    raw = query.get(name, "")
    if raw == "":
        return default
    if not raw.isdigit():
        raise invalid(f"Invalid {name}: {raw!r}")
    return int(raw)


def meta_page(
    items: Sequence[Any],
    *,
    url: str,
    key: str,
    query: Mapping[str, str],
    filters: Mapping[str, str] | None = None,
    max_size: int = 100,
    default_size: int = DEFAULT_PAGE_SIZE,
) -> dict[str, Any]:
    """One page of items (already filtered and ordered) under ``key``, with ``meta``.

    ``url`` is the absolute list URL without a query; ``filters`` are repeated in every page URL.
    PageToken ``PT<offset>`` wins over Page, as in the 2010 paging.
    """
    size = _int_param(query, "PageSize", min(default_size, max_size))
    if not 1 <= size <= max_size:
        raise invalid(f"PageSize must be between 1 and {max_size}")
    page = _int_param(query, "Page", 0)
    start = page * size
    token = query.get("PageToken")
    if token:
        if not (token.startswith("PT") and token[2:].isdigit()):
            raise invalid(f"Invalid PageToken: {token!r}")
        start = int(token[2:])

    def page_url(number: int, offset: int | None) -> str:
        params = dict(filters or {})
        params["PageSize"] = str(size)
        params["Page"] = str(number)
        if offset is not None:
            params["PageToken"] = f"PT{offset}"
        return f"{url}?{urlencode(params)}"

    has_next = start + size < len(items)
    return {
        key: list(items[start : start + size]),
        "meta": {
            "page": page,
            "page_size": size,
            "first_page_url": page_url(0, None),
            "previous_page_url": page_url(page - 1, max(start - size, 0)) if page > 0 else None,
            "url": page_url(page, start if token else None),
            "next_page_url": page_url(page + 1, start + size) if has_next else None,
            "key": key,
        },
    }
