"""REDIS_URL's forms: one server, a cluster's seeds, a Sentinel-watched master; and one line for
every URL that is none of them."""

from __future__ import annotations

import pytest

from botkit.core.redis_url import RedisTarget, parse_redis_url
from botkit.errors import ConfigError
from botkit.settings import load_settings


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "redis://localhost:6379/2",
            RedisTarget(mode="auto", hosts=(("localhost", 6379),), db=2),
        ),
        (
            "rediss://app:s3cret@cache.example.com:6380",
            RedisTarget(
                mode="auto",
                hosts=(("cache.example.com", 6380),),
                tls=True,
                username="app",
                password="s3cret",
            ),
        ),
        (
            "redis://10.0.0.1:7000,10.0.0.2:7001,10.0.0.3",
            RedisTarget(
                mode="cluster", hosts=(("10.0.0.1", 7000), ("10.0.0.2", 7001), ("10.0.0.3", 6379))
            ),
        ),
        (
            "redis+sentinel://:pw@s1:26379,s2/mymaster/3?sentinel_password=sp",
            RedisTarget(
                mode="sentinel",
                hosts=(("s1", 26379), ("s2", 26379)),
                password="pw",
                db=3,
                service="mymaster",
                sentinel_password="sp",
            ),
        ),
        ("unix:///run/redis.sock", RedisTarget(mode="standalone")),
    ],
)
def test_the_forms_redis_py_users_write(url: str, expected: RedisTarget) -> None:
    target = parse_redis_url(url)
    assert (target.mode, target.hosts, target.tls, target.db, target.service) == (
        expected.mode,
        expected.hosts,
        expected.tls,
        expected.db,
        expected.service,
    )
    assert (target.username, target.password, target.sentinel_password) == (
        expected.username,
        expected.password,
        expected.sentinel_password,
    )


def test_a_mode_forces_how_a_plain_url_is_read() -> None:
    assert parse_redis_url("redis://node:7000", "cluster").mode == "cluster"
    assert parse_redis_url("redis://node:6379", "standalone").mode == "standalone"


@pytest.mark.parametrize(
    ("url", "mode", "reason"),
    [
        ("http://localhost", "auto", "must start with redis://"),
        ("redis://", "auto", "names no host"),
        ("redis://host:port", "auto", "the port must be a number"),
        ("redis://host:70000", "auto", "the port must be 1-65535"),
        ("redis://host/x", "auto", "the database must be a number"),
        ("redis://a:1,b:2/3", "auto", "only database 0"),
        ("redis://a:1,b:2", "standalone", "several hosts name a Redis Cluster"),
        ("redis+sentinel://s1:26379", "auto", "names the master"),
        ("redis+sentinel://s1/m", "cluster", "cannot be used with mode 'cluster'"),
        ("redis://host", "sentinel", "needs a redis+sentinel:// URL"),
        ("unix:///tmp/r.sock", "cluster", "cannot be a Redis Cluster"),
    ],
)
def test_a_bad_url_is_one_line_naming_the_setting(url: str, mode: str, reason: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(redis_url=url, redis_mode=mode)
    line = str(refused.value)
    assert "\n" not in line and "REDIS_URL" in line and reason in line
