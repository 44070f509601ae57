"""Talking to a test server over a bare TCP connection, for what an HTTP client will not send:
half a request, a request at one byte a second, or bytes that are not HTTP at all."""

from __future__ import annotations

from collections.abc import Mapping


def request_head(
    path: str,
    length: int,
    content_type: str = "application/x-www-form-urlencoded",
    host: str = "127.0.0.1",
    headers: Mapping[str, str] | None = None,
) -> bytes:
    extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
    return (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\n"
        f"{extra}Content-Length: {length}\r\n\r\n"
    ).encode()
