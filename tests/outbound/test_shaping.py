"""The shaper remembers open WhatsApp windows briefly, and never past the window's end."""

from __future__ import annotations

import time

from botkit.compliance.hashing import NumberHasher
from botkit.compliance.windows.memory import MemoryWindowStore
from botkit.core import clock
from botkit.outbound.job import Job, JobFactory
from botkit.outbound.limits.rates import RateTable
from botkit.outbound.message import OutboundMessage
from botkit.outbound.shaping import OPEN_WINDOW_TRUST, Shaper, WhatsAppTemplate

USER, BOT = "whatsapp:+15550001111", "whatsapp:+15550002222"


HASHER = NumberHasher("shaping-pepper-0123456789")


class CountingWindows(MemoryWindowStore):
    def __init__(self) -> None:
        super().__init__(HASHER.pseudonym)
        self.asked = 0

    async def is_open(self, sender: str, user: str) -> bool:
        self.asked += 1
        return await super().is_open(sender, user)


def job(n: int) -> Job:
    factory = JobFactory(RateTable(), HASHER)
    message = OutboundMessage(to=USER, from_=BOT, body="hello", idempotency_key=f"k{n}")
    return factory.build(message, lane="reply")


async def test_an_open_window_is_asked_once_then_trusted_until_it_may_have_closed() -> None:
    windows = CountingWindows()
    shaper = Shaper(windows, WhatsAppTemplate(content_sid="HX" + "0" * 32), None)
    moment = time.time()
    with clock.use(lambda: moment):
        await windows.touch(BOT, USER)
        for n in range(3):
            shaped = await shaper(job(n))
            assert shaped.message.body == "hello" and shaped.message.content_sid is None
        assert windows.asked == 1
    with clock.use(lambda: moment + OPEN_WINDOW_TRUST + 1):
        await shaper(job(4))
        assert windows.asked == 2  # trusted no longer: asked again (still open)
    with clock.use(lambda: moment + 25 * 3600):
        shaped = await shaper(job(5))
        assert shaped.message.content_sid == "HX" + "0" * 32 and shaped.message.body is None
