"""Talking to a test server over a bare TCP connection, for what an HTTP client will not send:
half a request, a request at one byte a second, or bytes that are not HTTP at all."""

from __future__ import annotations


def request_head(
    path: str, length: int, content_type: str = "application/x-www-form-urlencoded"
) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()
