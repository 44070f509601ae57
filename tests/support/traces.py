"""Finding a person anywhere in storage: every Redis key and value, or every memory store.

After ``botkit privacy erase`` nothing may hold the person's number (with or without its +),
its masked form, or a body they sent or were sent. The only exceptions are the hashed consent
ledger (a STOP must survive an erase) and the audit entry of the erasure itself; ``ALLOWED``
names their keys. Redis values are read whole by type (GET, HGETALL, LRANGE, SMEMBERS, ZRANGE,
XRANGE) and by DUMP, so nothing escapes for being of an unexpected type.
"""

from __future__ import annotations

import dataclasses
import re
from collections import deque
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from botkit.core.redis_client import RedisClient
from botkit.runtime.privacy import ERASURES
from botkit.runtime.stores import Stores

#: The consent ledger's keys (and its copies' in every shard's slot), and the erasure audit's.
ALLOWED = re.compile(
    r"^\{botkit:consent\}:(optouts$|numbers$|audit:)"
    r"|^\{[^}]*\}:(state:|seq$|copy-counts$|filled$|copied$)"
    r"|^\{" + re.escape(ERASURES) + r"\}"
)


def _text(raw: Any) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


async def store_traces(stores: Stores, needles: Iterable[str]) -> list[str]:
    """``redis_traces`` of the stores' Redis, or ``memory_traces`` of the memory stores."""
    if stores.redis is None:
        return memory_traces(stores, needles)
    return await redis_traces(stores.redis, needles)


async def redis_traces(redis: RedisClient, needles: Iterable[str]) -> list[str]:
    """``key: needle`` for every key, or value of a key, that holds one of ``needles``."""
    wanted = [n for n in needles if n]
    found = []
    async for raw_key in redis.scan_iter(count=1000):
        key = _text(raw_key)
        if ALLOWED.search(key):
            continue
        texts = [key, *await _values(redis, key)]
        dumped = await redis.dump(key)
        if dumped is not None:
            texts.append(_text(dumped))
        found += [f"{key}: {n}" for n in wanted if any(n in text for text in texts)]
    return found


async def _values(redis: RedisClient, key: str) -> list[str]:
    kind = _text(await redis.type(key))
    if kind == "string":
        return [_text(await redis.get(key))]
    if kind == "hash":
        items = await redis.hgetall(key)
        return [_text(part) for pair in items.items() for part in pair]
    if kind == "list":
        return [_text(v) for v in await redis.lrange(key, 0, -1)]
    if kind == "set":
        return [_text(v) for v in await redis.smembers(key)]
    if kind == "zset":
        return [_text(v) for v, _ in await redis.zrange(key, 0, -1, withscores=True)]
    if kind == "stream":
        entries = await redis.xrange(key)
        return [_text(part) for _, fields in entries for pair in fields.items() for part in pair]
    return []


def memory_traces(stores: Stores, needles: Iterable[str]) -> list[str]:
    """``store: needle`` for every memory store that holds one of ``needles`` anywhere in its
    state (the consent ledger and the erasure audit excepted)."""
    wanted = [n for n in needles if n]
    found = []
    every = {field.name: getattr(stores, field.name) for field in dataclasses.fields(stores)}
    for name, store in every.items():
        if name in ("ledger", "hasher", "jobs", "session_keys", "redis"):
            continue
        texts: list[str] = []
        # A store that holds another (the inbound queue its sessions and outbound queue) is
        # searched for its own state: the other's is found, and named, as itself.
        others = {id(other) for other_name, other in every.items() if other_name != name}
        _walk(store, texts, others)
        found += [f"{name}: {n}" for n in wanted if any(n in t for t in texts)]
    return found


def _walk(value: Any, texts: list[str], seen: set[int]) -> None:
    if isinstance(value, str | bytes):
        texts.append(_text(value))
        return
    if isinstance(value, int | float | bool) or value is None or id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, BaseModel):
        texts.append(value.model_dump_json())
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == ERASURES:
                continue  # the erasure audit, kept on purpose
            _walk(key, texts, seen)
            _walk(item, texts, seen)
    elif isinstance(value, list | tuple | set | frozenset | deque):
        for item in value:
            _walk(item, texts, seen)
    elif hasattr(value, "__dict__") and type(value).__module__.startswith("botkit"):
        for item in vars(value).values():
            _walk(item, texts, seen)
    elif hasattr(value, "__slots__"):
        for name in getattr(value, "__slots__", ()):
            _walk(getattr(value, name, None), texts, seen)
