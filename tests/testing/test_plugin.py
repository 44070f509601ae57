"""The plugin as a bot author meets it: a test file that needs nothing but the plugin, the ways to
name the bot, the store, and what a failing expectation prints. Each case runs a real pytest
session (pytester) over files written here, exactly as the author would write them."""

from __future__ import annotations

import textwrap

import pytest

pytest_plugins = ["pytester"]

INI = "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
BOT_MODULE = '''
from botkit import Bot, Context

bot = Bot("greeter")

@bot.intent("greet", keywords=["hi"])
async def greet(ctx: Context) -> None:
    ctx.session["n"] = ctx.session.get("n", 0) + 1
    await ctx.reply(f"Hello! visit {ctx.session['n']}")

not_a_bot = 42
'''


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A bot author's project: the bot module and pytest set up for async tests."""
    pytester.makepyfile(greeter=BOT_MODULE)
    pytester.makeini(INI)
    pytester.syspathinsert()
    return pytester


def write_test(pytester: pytest.Pytester, source: str, name: str = "test_bot") -> None:
    pytester.makepyfile(**{name: textwrap.dedent(source)})


def test_a_bot_fixture_is_all_a_test_file_needs(project: pytest.Pytester) -> None:
    write_test(
        project,
        """
        import pytest
        from greeter import bot as greeter

        @pytest.fixture
        def bot():
            return greeter

        async def test_greeting(tester):
            phone = tester.phone("+15550001111")
            await phone.send("hi")
            await phone.expect_reply(contains="Hello")
            await phone.send("hi")
            await phone.expect_reply(contains="visit 2")
        """,
    )
    project.runpytest().assert_outcomes(passed=1)


def test_a_failed_expectation_shows_what_came_and_the_transcript(
    project: pytest.Pytester,
) -> None:
    write_test(
        project,
        """
        import pytest

        @pytest.mark.botkit(bot="greeter:bot", within=0.3)
        async def test_wrong_text(tester):
            phone = tester.phone("+15550001111")
            await phone.send("hi")
            await phone.expect_reply(contains="Goodbye")

        @pytest.mark.botkit(bot="greeter:bot")
        async def test_no_reply_at_all(tester):
            phone = tester.phone("+15550001111")
            await phone.send("what?")
            await phone.expect_reply(contains="Hello", within=0.3)
        """,
    )
    result = project.runpytest()
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "E*AssertionError: expected a reply containing 'Goodbye' to +15550001111, but the "
            "next reply was 'Hello! visit 1' (its text differs)",
            "E*transcript (2 messages):",
            "E*1. [[]sms[]] +15550001111 -> +15550002222: 'hi'",
            "E*2. [[]sms[]] +15550002222 -> +15550001111: 'Hello! visit 1'",
            "E*AssertionError: expected a reply containing 'Hello' to +15550001111 within "
            "0.3 s, but none came",
            "E*transcript (1 message):",
            "E*1. [[]sms[]] +15550001111 -> +15550002222: 'what?'",
        ]
    )
    # The traceback points at the test's own line, not into botkit.testing.
    result.stdout.fnmatch_lines(["*await phone.expect_reply(contains=\"Goodbye\")*"])
    assert "botkit/testing/phone.py" not in result.stdout.str()


def test_the_bot_can_be_named_in_the_ini_file(project: pytest.Pytester) -> None:
    project.makeini(INI + "botkit_bot = greeter:bot\n")
    write_test(
        project,
        """
        async def test_greeting(tester):
            phone = tester.phone("+15550001111")
            await phone.send("hi")
            await phone.expect_reply(equals="Hello! visit 1")
        """,
    )
    project.runpytest().assert_outcomes(passed=1)


def test_redis_is_used_on_request(project: pytest.Pytester, clean_redis: str) -> None:
    project.makeini(
        INI + f"botkit_bot = greeter:bot\nbotkit_redis_url = {clean_redis}\n"
    )
    write_test(
        project,
        """
        import pytest

        async def test_by_ini(tester):
            assert tester.runtime.stores.redis is not None
            phone = tester.phone("+15550001111")
            await phone.send("hi")
            await phone.expect_reply(equals="Hello! visit 1")
            assert await tester.session(phone) == {"n": 1}

        class TestOverridden:
            @pytest.fixture
            def botkit_redis_url(self):
                return None

            async def test_fixture_wins_over_ini(self, tester):
                assert tester.runtime.stores.redis is None
        """,
    )
    project.runpytest().assert_outcomes(passed=2)


def test_mistakes_get_one_clear_line_each(project: pytest.Pytester) -> None:
    write_test(
        project,
        """
        import pytest

        async def test_no_bot_anywhere(tester):
            pass

        @pytest.mark.botkit(bot="greeter:not_a_bot")
        async def test_not_a_bot(tester):
            pass

        @pytest.mark.botkit(bot="nowhere:bot")
        async def test_missing_module(tester):
            pass

        @pytest.mark.botkit(bot="greeter:bot", colour="blue")
        async def test_unknown_option(tester):
            pass

        @pytest.mark.botkit(bot="greeter:bot", settings={"nope": 1})
        async def test_unknown_setting(tester):
            pass

        @pytest.mark.botkit(bot="greeter:bot", settings={"session_ttl": "soon"})
        async def test_bad_setting(tester):
            pass

        @pytest.mark.botkit(bot="greeter:bot")
        async def test_bad_regex(tester):
            await tester.phone("+15550001111").expect_reply(matches="(")
        """,
    )
    result = project.runpytest()
    result.assert_outcomes(errors=6, failed=1)
    result.stdout.fnmatch_lines_random(
        [
            "*botkit.testing: no bot to test. Define a `bot` fixture*",
            "*botkit.testing: @pytest.mark.botkit(bot=...): greeter:not_a_bot is a int, not a "
            "botkit.Bot*",
            "*botkit.testing: @pytest.mark.botkit(bot=...): cannot find module 'nowhere'*",
            "*@pytest.mark.botkit does not take colour (it takes bot, redis_url, *",
            "*botkit.testing: @pytest.mark.botkit: unknown setting 'nope': settings= takes*",
            "*botkit.testing: invalid settings: BOTKIT_SESSION_TTL: Input should be a valid*",
            "*BadExpectation: matches='(' is not a regex*",
        ]
    )
