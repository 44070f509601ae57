"""The pytest plugin (registered as ``botkit`` through the ``pytest11`` entry point): fixtures
``tester``, ``clock`` and ``botkit_redis_url``, the ``botkit`` marker and ini options.

How the bot is found, first match wins:

1. ``@pytest.mark.botkit(bot=...)``: a Bot, or ``"module:attr"``;
2. a fixture named ``bot`` that the test's conftest or module defines;
3. the ini option ``botkit_bot = module:attr`` (``pytest.ini`` / ``[tool.pytest.ini_options]``).

Where the stores live: memory, unless ``@pytest.mark.botkit(redis_url=...)``, an overridden
``botkit_redis_url`` fixture, or the ini option ``botkit_redis_url`` names a Redis (whose
database the tester empties before each test).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from botkit.app.bot import Bot
from botkit.app.loader import load_bot
from botkit.errors import BotLoadError, ConfigError
from botkit.testing.clock import TestClock
from botkit.testing.tester import Tester

#: What the marker accepts besides bot= and redis_url=: the Tester's own options.
TESTER_OPTIONS = ("bot_number", "settings", "status_callbacks", "twilio_keyword_replies", "within")

try:
    import pytest_asyncio

    async_fixture: Any = pytest_asyncio.fixture
except ImportError:  # pragma: no cover - exercised only without pytest-asyncio installed
    async_fixture = None


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("botkit_bot", "the bot the `tester` fixture runs, as module:attr", default="")
    parser.addini(
        "botkit_redis_url",
        "run the `tester` fixture on this Redis (emptied before each test); unset: memory",
        default="",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "botkit(bot=None, redis_url=None, bot_number=..., settings=..., status_callbacks=..., "
        "twilio_keyword_replies=..., within=...): how the `tester` fixture runs the bot",
    )


@pytest.fixture
def clock() -> Iterator[TestClock]:
    """The clock every botkit rule reads (session TTLs, WhatsApp windows, quiet hours), for
    this test: ``clock.advance(hours=25)``, ``clock.set(datetime(...))``."""
    test_clock = TestClock()
    with test_clock.installed():
        yield test_clock


@pytest.fixture
def botkit_redis_url(request: pytest.FixtureRequest) -> str | None:
    """The Redis the tester uses; None for memory stores. Override it to use Redis."""
    configured = str(request.config.getini("botkit_redis_url") or "")
    return configured or None


async def _tester(
    request: pytest.FixtureRequest, clock: TestClock, botkit_redis_url: str | None
) -> AsyncIterator[Tester]:
    marker = request.node.get_closest_marker("botkit")
    options: dict[str, Any] = dict(marker.kwargs) if marker is not None else {}
    unknown = set(options) - {"bot", "redis_url", *TESTER_OPTIONS}
    if unknown:
        pytest.fail(
            f"@pytest.mark.botkit does not take {', '.join(sorted(unknown))} "
            f"(it takes bot, redis_url, {', '.join(TESTER_OPTIONS)})",
            pytrace=False,
        )
    bot = _find_bot(request, options.pop("bot", None))
    redis_url = options.pop("redis_url", None) or botkit_redis_url
    try:
        tester = Tester(bot, redis_url=redis_url, clock=clock, **options)
    except (TypeError, ValueError) as exc:
        pytest.fail(f"botkit.testing: @pytest.mark.botkit: {exc}", pytrace=False)
    try:
        await tester.start()
    except ConfigError as exc:
        pytest.fail(f"botkit.testing: {exc}", pytrace=False)
    try:
        yield tester
    finally:
        await tester.stop()


if async_fixture is not None:
    tester = async_fixture(_tester, name="tester")
else:  # pragma: no cover

    @pytest.fixture(name="tester")
    def _tester_needs_asyncio() -> None:
        pytest.fail(
            "the botkit `tester` fixture needs pytest-asyncio: pip install pytest-asyncio",
            pytrace=False,
        )


def _find_bot(request: pytest.FixtureRequest, marked: Any) -> Bot:
    if marked is not None:
        return _as_bot(marked, "@pytest.mark.botkit(bot=...)")
    try:
        defined = request.getfixturevalue("bot")
    except pytest.FixtureLookupError:
        pass
    else:
        return _as_bot(defined, "the `bot` fixture")
    configured = str(request.config.getini("botkit_bot") or "")
    if configured:
        return _as_bot(configured, "the ini option botkit_bot")
    pytest.fail(
        "botkit.testing: no bot to test. Define a `bot` fixture that returns your Bot, set "
        "`botkit_bot = module:attr` in your pytest ini options, or mark the test "
        "@pytest.mark.botkit(bot=...)",
        pytrace=False,
    )


def _as_bot(value: Any, origin: str) -> Bot:
    if isinstance(value, Bot):
        return value
    if isinstance(value, str):
        try:
            return load_bot(value)
        except BotLoadError as exc:
            pytest.fail(f"botkit.testing: {origin}: {exc}", pytrace=False)
    pytest.fail(
        f"botkit.testing: {origin} gave a {type(value).__name__}, not a botkit.Bot",
        pytrace=False,
    )
