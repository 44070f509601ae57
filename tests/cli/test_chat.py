"""``botkit chat``: a person types, the bot answers through the sandbox, /quit leaves."""

from __future__ import annotations

import queue
import re
import subprocess
import threading
import time

from tests.support.process import BOTKIT, clean_env


def _lines(stream: object, sink: queue.Queue[str]) -> None:
    for line in iter(stream.readline, ""):  # type: ignore[attr-defined]
        sink.put(line)


def _read_until(sink: queue.Queue[str], needle: str, timeout: float = 15.0) -> str:
    seen = ""
    deadline = time.monotonic() + timeout
    while needle not in seen:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"{needle!r} never appeared; output so far:\n{seen}")
        try:
            seen += sink.get(timeout=remaining)
        except queue.Empty:
            continue
    return seen


def test_chat_sends_prints_replies_and_quits() -> None:
    proc = subprocess.Popen(
        [BOTKIT, "chat", "bots.echo"],
        env=clean_env(PYTHONUNBUFFERED="1"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(proc.stdout, output), daemon=True).start()
    try:
        assert proc.stdin is not None
        _read_until(output, "Type a message")
        proc.stdin.write("hello\n")
        proc.stdin.flush()
        assert "bot: Hello! Visit number 1." in _read_until(output, "Visit number 1")
        proc.stdin.write("hello again\n")
        proc.stdin.flush()
        _read_until(output, "Visit number 2")  # the session carried over
        proc.stdin.write("/quit\n")
        proc.stdin.flush()
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_chat_over_whatsapp() -> None:
    result = subprocess.run(
        [BOTKIT, "chat", "bots.echo", "--whatsapp"],
        env=clean_env(),
        input="/quit\n",
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert "Texting whatsapp:+15550100100 as whatsapp:+15550001234" in result.stdout


# --- WhatsApp in a terminal (a pty, as a person's terminal is) -------------------------------



class Terminal:
    """`botkit chat` on a pseudo-terminal: what a person sees, and what they type."""

    def __init__(self, args: list[str]) -> None:
        import os
        import pty

        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(
            [BOTKIT, "chat", *args],
            env=clean_env(PYTHONUNBUFFERED="1", BOTKIT_LOG_FORMAT="console"),
            stdin=slave,
            stdout=slave,
            stderr=subprocess.PIPE,
            text=True,
        )
        os.close(slave)
        self.seen = ""
        self.mark = 0

    def read_until(self, needle: str, timeout: float = 15.0) -> str:
        import os
        import select

        deadline = time.monotonic() + timeout
        while needle not in self.seen[self.mark :]:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{needle!r} never appeared; the screen so far:\n{self.seen}")
            ready, _, _ = select.select([self.master], [], [], remaining)
            if ready:
                try:
                    self.seen += os.read(self.master, 4096).decode("utf-8", "replace")
                except OSError:
                    break
        # What comes next is looked for after this: a needle seen once is not seen again.
        self.mark = self.seen.index(needle, self.mark) + len(needle)
        return self.seen

    def type(self, line: str) -> None:
        import os

        os.write(self.master, (line + "\n").encode())

    def screen(self) -> list[str]:
        """The lines as a terminal shows them: colours dropped, a carriage return going back
        to the line's start, ESC[K clearing the rest of the line."""
        lines = []
        for raw in re.sub(r"\x1b\[[0-9;]*m", "", self.seen).split("\n"):
            line: list[str] = []
            column = 0
            for token in re.split(r"(\r|\x1b\[K)", raw):
                if token == "\r":
                    column = 0
                elif token == "\x1b[K":
                    del line[column:]
                else:
                    for char in token:
                        if column < len(line):
                            line[column] = char
                        else:
                            line.append(char)
                        column += 1
            lines.append("".join(line))
        return lines

    def quit(self) -> str:
        import os

        self.type("/quit")
        try:
            self.proc.wait(timeout=15)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            os.close(self.master)
        assert self.proc.stderr is not None
        return self.proc.stderr.read()


def test_whatsapp_buttons_are_numbered_choices_and_media_shows_its_type() -> None:
    chat = Terminal(["bots.whatsapp_shop", "--whatsapp"])
    try:
        chat.read_until("Type a message")
        chat.type("hi")
        screen = chat.read_until("3) Checkout")
        assert "1) Browse teas" in screen and "2) View cart" in screen
        chat.read_until("(type a number or a title to tap it)")
        chat.type("1")  # taps "Browse teas"
        chat.read_until("Earl Grey - $8.99")
        screen = chat.read_until("3) View cart")
        chat.read_until("(type a number or a title to tap it)")
        assert "[image/jpeg] http://127.0.0.1:" in screen  # the sandbox's sample picture
        assert "/sandbox/static/samples/leafco/earl-grey.jpg" in screen
        assert "attachment(s)" not in screen
        chat.type("add to cart")  # a title, in any case, taps it too
        chat.read_until("Added Earl Grey to your cart")
        lines = chat.screen()
    finally:
        errors = chat.quit()
    assert not [line for line in lines if line.startswith("> >")], "\n".join(lines)
    assert "[info" not in screen and '"level"' not in screen, "log lines in the chat"
    assert "[info" not in errors  # warnings only, on stderr


def test_a_list_picker_is_numbered_and_picked() -> None:
    chat = Terminal(["tests.support.sizes_bot", "--whatsapp"])
    try:
        chat.read_until("Type a message")
        chat.type("hello")
        screen = chat.read_until("2) Large - 1 kg")
        assert "[Choose a size]" in screen and "1) Small - 250 g" in screen
        chat.read_until("(type a number or a title to tap it)")
        chat.type("2")
        chat.read_until("You chose Large (size:l)")
        chat.type("again")  # no choices on the last message: plain text
        chat.read_until("(type a number or a title to tap it)")
        chat.type("small")
        chat.read_until("You chose Small (size:s)")
        lines = chat.screen()
    finally:
        chat.quit()
    assert not [line for line in lines if line.startswith("> >")], "\n".join(lines)
