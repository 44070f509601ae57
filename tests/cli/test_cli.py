"""The real ``botkit`` command, run as a subprocess the way an operator runs it."""

from __future__ import annotations

import base64
import json
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlencode

import pytest
import redis

from botkit.cli.devserver import DEMO_NUMBER
from botkit.twilio.development import DEVELOPMENT_ACCOUNT_SID, DEVELOPMENT_AUTH_TOKEN
from tests.support.process import BOTKIT, clean_env
from tests.support.redis_server import free_port
from tests.support.webhooks import USER, inbound_params, sign

REPO = Path(__file__).resolve().parents[2]
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response />'

SLOW_BOT = """
import asyncio

from botkit import Bot, Context

bot = Bot("slow")


@bot.fallback
async def slow(ctx: Context) -> None:
    print("slow handler started", flush=True)
    await asyncio.sleep(1.0)
    await ctx.reply("finished after the signal")
"""


def botkit_env(**settings: str) -> dict[str, str]:
    """clean_env(): no botkit, Twilio or Redis settings, JSON logs; unbuffered UTF-8; settings."""
    return clean_env(**{"PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8", **settings})


def botkit_run(
    target: str, port: str, sandbox_port: str, env: Mapping[str, str], cwd: Path
) -> subprocess.Popen[str]:
    """Start ``botkit run target`` on these ports, its output piped as UTF-8 text."""
    return subprocess.Popen(
        [BOTKIT, "run", target, "--port", port, "--sandbox-port", sandbox_port],
        env=dict(env),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )


def http(
    url: str, params: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None
) -> tuple[int, str]:
    """GET url, or POST params form-encoded; returns (status, body) for any status."""
    data = urlencode(params).encode() if params is not None else None
    request = urllib.request.Request(url, data=data, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def message_to_bot(body: str) -> dict[str, str]:
    """An inbound SMS from USER to the number the development sandbox gives the bot."""
    return inbound_params(body, To=DEMO_NUMBER, AccountSid=DEVELOPMENT_ACCOUNT_SID)


@dataclass
class Botkit:
    """A running ``botkit run`` whose output is collected line by line as it arrives."""

    proc: subprocess.Popen[str]
    port: int
    sandbox_port: int
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _readers: list[threading.Thread] = field(default_factory=list)

    def __post_init__(self) -> None:
        for stream, lines in ((self.proc.stdout, self.stdout), (self.proc.stderr, self.stderr)):
            reader = threading.Thread(target=self._read, args=(stream, lines), daemon=True)
            reader.start()
            self._readers.append(reader)

    def _read(self, stream: IO[str], lines: list[str]) -> None:
        for line in stream:
            with self._changed:
                lines.append(line.rstrip("\n"))
                self._changed.notify_all()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        with self._changed:
            return "\n".join(["--- stdout", *self.stdout, "--- stderr", *self.stderr])

    def events(self) -> list[dict[str, Any]]:
        """The JSON log lines on stdout so far (the simulator banner is skipped)."""
        with self._changed:
            return [json.loads(line) for line in self.stdout if line.startswith("{")]

    def wait_for_line(self, predicate: Callable[[str], bool], timeout: float = 10.0) -> int:
        """The index in stdout of the first line matching predicate, waiting for it."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for index, line in enumerate(self.stdout):
                    if predicate(line):
                        return index
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._changed.wait(min(remaining, 0.1))
        pytest.fail(f"no matching line on stdout within {timeout} s\n{self.output()}")

    def wait_for_event(self, event: str, timeout: float = 10.0) -> int:
        """The index in stdout of the first log line whose event is event, waiting for it."""
        return self.wait_for_line(
            lambda line: line.startswith("{") and json.loads(line).get("event") == event, timeout
        )

    def wait_healthy(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"botkit exited with {self.proc.returncode}\n{self.output()}")
            try:
                status, _ = http(f"{self.base_url}/healthz")
            except OSError:
                time.sleep(0.05)
                continue
            assert status == 200
            return
        pytest.fail(f"botkit did not answer /healthz within {timeout} s\n{self.output()}")

    def post_webhook(self, params: Mapping[str, str], token: str | None) -> tuple[int, str]:
        """POST an inbound message, signed with token the way Twilio signs (None: unsigned)."""
        url = f"{self.base_url}/twilio/messages"
        headers = {"X-Twilio-Signature": sign(token, url, params)} if token else {}
        return http(url, params, headers)

    def sandbox_messages(self) -> list[dict[str, Any]]:
        """The messages the development sandbox was asked to send, through its Twilio API."""
        credentials = f"{DEVELOPMENT_ACCOUNT_SID}:{DEVELOPMENT_AUTH_TOKEN}".encode()
        status, body = http(
            f"http://127.0.0.1:{self.sandbox_port}/2010-04-01/Accounts/"
            f"{DEVELOPMENT_ACCOUNT_SID}/Messages.json",
            headers={"Authorization": "Basic " + base64.b64encode(credentials).decode()},
        )
        assert status == 200, body
        messages: list[dict[str, Any]] = json.loads(body)["messages"]
        return messages

    def terminate(self, timeout: float = 5.0) -> int:
        """SIGTERM, then the exit code; fails if the process is still running after timeout."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"botkit still running {timeout} s after SIGTERM\n{self.output()}")
        self._join()
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        self._join()

    def _join(self) -> None:
        for reader in self._readers:
            reader.join(timeout=5)


@pytest.fixture
def start_botkit() -> Iterator[Callable[..., Botkit]]:
    """start_botkit(target, env, cwd=REPO) runs ``botkit run target`` on free ports."""
    started: list[Botkit] = []

    def start(target: str, env: Mapping[str, str], cwd: Path = REPO) -> Botkit:
        port, sandbox_port = free_port(), free_port()
        proc = botkit_run(target, str(port), str(sandbox_port), env, cwd)
        botkit = Botkit(proc, port, sandbox_port)
        started.append(botkit)
        return botkit

    yield start
    for botkit in started:
        botkit.kill()


# --- start-up errors: one line on stderr, exit code 2, no traceback ---------------------------


@dataclass(frozen=True)
class StartupError:
    target: str
    settings: dict[str, str]
    expected: str  # part of the single stderr line
    port: str = "{free_port}"
    sandbox_port: str = "{free_port}"


STARTUP_ERRORS = {
    "malformed account SID": StartupError(
        "bots.echo", {"TWILIO_ACCOUNT_SID": "nope"}, "TWILIO_ACCOUNT_SID: must be 'AC'"
    ),
    "public URL not absolute": StartupError(
        "bots.echo", {"BOTKIT_PUBLIC_URL": "not-a-url"}, "BOTKIT_PUBLIC_URL: must be an absolute"
    ),
    "account SID without token": StartupError(
        "bots.echo", {"TWILIO_ACCOUNT_SID": "AC" + "1" * 32}, "TWILIO_AUTH_TOKEN: required"
    ),
    "unreachable Redis": StartupError(
        "bots.echo", {"REDIS_URL": "redis://127.0.0.1:{free_port}/0"}, "REDIS_URL: cannot reach"
    ),
    "port in use": StartupError(
        "bots.echo", {}, "--port: cannot listen on 127.0.0.1:{busy_port}", port="{busy_port}"
    ),
    "sandbox port in use": StartupError(
        "bots.echo",
        {},
        "--sandbox-port: cannot listen on 127.0.0.1:{busy_port}",
        sandbox_port="{busy_port}",
    ),
    "unknown module": StartupError(
        "no_such_bot_module", {}, "cannot find module 'no_such_bot_module'"
    ),
    "attribute is not a Bot": StartupError("notabot", {}, "notabot is a str, not a botkit.Bot"),
    "port out of range": StartupError(
        "bots.echo", {}, "--port: 99999 is not a port (allowed: 0 to 65535)", port="99999"
    ),
    "sandbox port out of range": StartupError(
        "bots.echo",
        {},
        "--sandbox-port: 70000 is not a port (allowed: 0 to 65535)",
        sandbox_port="70000",
    ),
    "development account without a sandbox": StartupError(
        "bots.echo",
        {"TWILIO_ACCOUNT_SID": DEVELOPMENT_ACCOUNT_SID},
        "TWILIO_ACCOUNT_SID: AC00000000000000000000000000000000 is the sandbox's development "
        "account, not a Twilio account: unset it for development mode, or set "
        "BOTKIT_TWILIO_BASE_URL",
    ),
    "misspelt rate key": StartupError(
        "bots.echo",
        {"BOTKIT_RATES": '{{"lng_code": 2}}'},  # format() templates: {{ is {
        "BOTKIT_RATES: unknown key 'lng_code'; allowed: long_code, toll_free",
    ),
    "zero rate": StartupError(
        "bots.echo",
        {"BOTKIT_RATES": '{{"long_code": 0}}'},
        "BOTKIT_RATES: long_code.rate: Input should be greater than 0",
    ),
    "rate that is not a number": StartupError(
        "bots.echo",
        {"BOTKIT_RATES": '{{"long_code": "fast"}}'},
        'BOTKIT_RATES: long_code: must be a rate per second (a number > 0) or {{"rate": N',
    ),
}
# The bot module's name starts with the name of the import it lacks (like weatherbot, weather).
MISSING_DEPENDENCY = StartupError("nodep_bot", {}, "No module named 'nodep'")


@dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: str
    stderr: str
    expected: str


@pytest.fixture(scope="module")
def startup_failures(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Finished]]:
    """Every STARTUP_ERRORS case (and MISSING_DEPENDENCY) run at once, to keep this file fast."""
    workdir = tmp_path_factory.mktemp("bots")
    (workdir / "notabot.py").write_text('bot = "a string"\n')
    (workdir / "nodep_bot.py").write_text("import nodep  # noqa\n")
    cases = {**STARTUP_ERRORS, "missing dependency": MISSING_DEPENDENCY}
    procs: dict[str, subprocess.Popen[str]] = {}
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        busy_port = busy.getsockname()[1]

        def fill(template: str) -> str:
            return template.format(free_port=free_port(), busy_port=busy_port)

        try:
            for name, case in cases.items():
                procs[name] = botkit_run(
                    case.target,
                    fill(case.port),
                    fill(case.sandbox_port),
                    botkit_env(**{k: fill(v) for k, v in case.settings.items()}),
                    workdir,
                )
            results = {}
            for name, proc in procs.items():
                stdout, stderr = proc.communicate(timeout=30)
                expected = fill(cases[name].expected)
                results[name] = Finished(proc.returncode, stdout, stderr, expected)
            yield results
        finally:
            for proc in procs.values():
                if proc.poll() is None:
                    proc.kill()
                    proc.communicate()


@pytest.mark.parametrize("case", STARTUP_ERRORS)
def test_start_up_error_is_one_line_without_traceback(
    startup_failures: dict[str, Finished], case: str
) -> None:
    run = startup_failures[case]
    assert "Traceback" not in run.stderr + run.stdout
    assert run.returncode == 2, run.stderr
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("botkit: ")
    assert run.expected in lines[0]


def test_missing_import_inside_the_bot_names_that_import(
    startup_failures: dict[str, Finished],
) -> None:
    run = startup_failures["missing dependency"]
    assert run.returncode != 0
    assert run.expected in run.stderr
    # The bot's own module exists; saying it cannot be found would send the user the wrong way.
    assert "cannot find module 'nodep_bot'" not in run.stderr


# --- a running bot ------------------------------------------------------------------------------


def test_run_serves_replies_and_exits_cleanly_on_sigterm(
    start_botkit: Callable[..., Botkit], store_url: str | None
) -> None:
    settings = {"REDIS_URL": store_url} if store_url else {}
    botkit = start_botkit("bots.echo", botkit_env(**settings))
    botkit.wait_healthy()

    assert http(f"{botkit.base_url}/readyz") == (200, '{"status": "ok"}')
    assert not [e for e in botkit.events() if "SIGNATURE VALIDATION" in e["event"]]
    assert botkit.post_webhook(message_to_bot("hi"), token="not-the-token")[0] == 403

    params = message_to_bot("hi")
    assert botkit.post_webhook(params, token=DEVELOPMENT_AUTH_TOKEN) == (200, EMPTY_TWIML)
    botkit.wait_for_event("message sent")
    [reply] = botkit.sandbox_messages()
    assert (reply["from"], reply["to"]) == (DEMO_NUMBER, USER)
    assert reply["body"].startswith("Hello! Visit number 1.")
    if store_url:
        with redis.Redis.from_url(store_url) as client:
            assert client.dbsize() > 0  # the queue and the session live there

    assert botkit.terminate() == 0
    events = botkit.events()
    [handled] = [e for e in events if e["event"] == "message handled"]
    assert handled["sid"] == params["MessageSid"]
    assert handled["result"] == "ok"
    assert any(e["event"] == "shutting down" for e in events)
    assert "Traceback" not in botkit.output()


def test_sigterm_lets_a_handler_in_flight_finish(
    start_botkit: Callable[..., Botkit], tmp_path: Path
) -> None:
    (tmp_path / "slowbot.py").write_text(SLOW_BOT)
    botkit = start_botkit("slowbot", botkit_env(), cwd=tmp_path)
    botkit.wait_healthy()

    assert botkit.post_webhook(message_to_bot("anything"), DEVELOPMENT_AUTH_TOKEN)[0] == 200
    botkit.wait_for_line(lambda line: line == "slow handler started")
    assert botkit.terminate(timeout=10) == 0

    shutting_down = botkit.wait_for_event("shutting down", timeout=0)
    sent = botkit.wait_for_event("message sent", timeout=0)
    assert shutting_down < sent, botkit.output()
    [handled] = [e for e in botkit.events() if e["event"] == "message handled"]
    assert handled["result"] == "ok"
    assert "Traceback" not in botkit.output()


def test_sigterm_the_moment_the_port_opens_is_still_a_graceful_stop(
    start_botkit: Callable[..., Botkit],
) -> None:
    """The signal handlers are in place before the port opens: a SIGTERM that came between
    the two (a deploy stopping a process as it starts) killed it outright, exit -15."""
    botkit = start_botkit("bots.echo", botkit_env())
    deadline = time.monotonic() + 15
    while not _accepts(botkit.port):
        assert botkit.proc.poll() is None, botkit.output()
        assert time.monotonic() < deadline, "the port never opened"
        time.sleep(0.001)
    assert botkit.terminate(timeout=10) == 0, botkit.output()


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.1):
            return True
    except OSError:
        return False


def test_turning_signature_validation_off_is_loud(start_botkit: Callable[..., Botkit]) -> None:
    botkit = start_botkit("bots.echo", botkit_env(BOTKIT_VALIDATE_SIGNATURES="false"))
    botkit.wait_healthy()

    warnings = [e for e in botkit.events() if "SIGNATURE VALIDATION IS OFF" in e["event"]]
    assert len(warnings) == 1
    assert warnings[0]["level"] == "warning"
    # And it really is off: an unsigned webhook runs the handler.
    assert botkit.post_webhook(message_to_bot("hello"), token=None)[0] == 200
    botkit.wait_for_event("message sent")
    assert [m["to"] for m in botkit.sandbox_messages()] == [USER]
    assert botkit.terminate() == 0


def test_a_service_tunes_garbage_collection_once_it_is_up() -> None:
    # In a process of its own: the tuning is process-wide.
    code = (
        "import gc; from botkit.cli.commands import tune_gc; tune_gc(); "
        "print(gc.get_threshold()[0], gc.get_freeze_count() > 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True
    )
    assert result.stdout.split() == ["50000", "True"], result.stderr
