"""What ``REDIS_URL`` names: one Redis, a Redis Cluster, or a master found through Sentinel.

The forms are the ones redis-py users write, so a URL that works with ``Redis.from_url`` works
here too, and two more cover what one URL of redis-py's cannot:

- ``redis://[user:password@]host:port[/db]`` (``rediss://`` for TLS, ``unix:///path.sock``):
  one server; if it answers ``cluster_enabled:1`` it is taken as a seed of its cluster.
- ``redis://host1:7000,host2:7001`` (or ``rediss://``): several seeds of a Redis Cluster.
- ``redis+sentinel://[user:password@]host1:26379,host2:26379/mymaster[/db]`` (``rediss+sentinel``
  for TLS to the master and the sentinels): the sentinels, the master's name and the database,
  as redis-py's ``Sentinel(...).master_for(name)`` takes them. ``?sentinel_password=...`` when
  the sentinels need a password of their own (default: none).

Parsing is pure (no connection), so that settings can reject a bad URL with one line at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

RedisMode = Literal["auto", "standalone", "cluster", "sentinel"]

_SCHEMES = {"redis", "rediss", "unix", "redis+sentinel", "rediss+sentinel"}


@dataclass(frozen=True)
class RedisTarget:
    """A parsed REDIS_URL. ``hosts``: the server, the cluster's seeds or the sentinels."""

    mode: RedisMode
    hosts: tuple[tuple[str, int], ...] = ()
    tls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    db: int = 0
    #: Sentinel: the master's name, and the sentinels' own password if they have one.
    service: str | None = None
    sentinel_password: str | None = field(default=None, repr=False)
    #: A unix socket or a one-server URL, handed to ``Redis.from_url`` as it is.
    url: str | None = field(default=None, repr=False)


def parse_redis_url(raw: str, mode: RedisMode = "auto") -> RedisTarget:
    """The target of ``raw``; ValueError with a one-line reason when it is not one. ``mode``
    forces standalone or cluster for a plain URL (BOTKIT_REDIS_MODE)."""
    scheme, sep, _ = raw.partition("://")
    if not sep or scheme not in _SCHEMES:
        raise ValueError(
            "must start with redis://, rediss://, unix://, redis+sentinel:// or "
            "rediss+sentinel://"
        )
    if scheme == "unix":
        if mode == "cluster":
            raise ValueError("a unix:// socket cannot be a Redis Cluster")
        return RedisTarget(mode="standalone", url=raw)
    parts = urlsplit(raw)
    hosts = _hosts(parts.netloc.rpartition("@")[2], default_port=26379 if "+" in scheme else 6379)
    tls = scheme.startswith("rediss")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    path = [segment for segment in parts.path.split("/") if segment]
    if scheme.endswith("+sentinel"):
        if mode not in ("auto", "sentinel"):
            raise ValueError(f"a redis+sentinel:// URL cannot be used with mode {mode!r}")
        if not path:
            raise ValueError("a redis+sentinel:// URL names the master: .../mymaster[/db]")
        query = parse_qs(parts.query)
        return RedisTarget(
            mode="sentinel",
            hosts=hosts,
            tls=tls,
            username=username,
            password=password,
            db=_db(path[1] if len(path) > 1 else "0"),
            service=path[0],
            sentinel_password=next(iter(query.get("sentinel_password", [])), None),
        )
    if mode == "sentinel":
        raise ValueError("BOTKIT_REDIS_MODE=sentinel needs a redis+sentinel:// URL")
    db = _db(path[0] if path else "0")
    if len(hosts) > 1 or mode == "cluster":
        if db != 0:
            raise ValueError("a Redis Cluster has only database 0")
        if mode == "standalone":
            raise ValueError("several hosts name a Redis Cluster, not one server")
        mode = "cluster"
    return RedisTarget(
        mode=mode,
        hosts=hosts,
        tls=tls,
        username=username,
        password=password,
        db=db,
        url=raw if len(hosts) == 1 else None,
    )


def _hosts(netloc: str, default_port: int) -> tuple[tuple[str, int], ...]:
    if not netloc:
        raise ValueError("names no host")
    found = []
    for item in netloc.split(","):
        host, _, port = item.strip().rpartition(":") if ":" in item else (item.strip(), "", "")
        host = host.strip("[]")
        if not host:
            raise ValueError(f"{item!r} is not host[:port]")
        try:
            number = int(port) if port else default_port
        except ValueError:
            raise ValueError(f"{item!r}: the port must be a number") from None
        if not 0 < number < 65536:
            raise ValueError(f"{item!r}: the port must be 1-65535")
        found.append((host, number))
    return tuple(found)


def _db(text: str) -> int:
    if not text.isdigit():
        raise ValueError(f"the database must be a number, got {text!r}")
    return int(text)
