"""A person when the bot is not enough, and a rating once they are done.

"AGENT" hands the customer to a free agent of the pool, or puts them in line: the framework
tells them their place, and tells them again as it moves up. The agent sees what the customer
and the bot said before, and why. When the agent closes the chat (``/close``, which the
customer never sees), the customer gets a one-question survey 1:1; a lone number from 1 to 5
is the answer, for the survey window (a day by default). Anything else they text goes to the
bot as usual, and the survey waits for them until the window closes; after it, a "4" is just
a message again.
If they have not answered halfway through the window, a reminder asks once more (a durable
timer: it survives restarts, and answering cancels it).
A customer who texted STOP during the chat gets no survey: it goes through the dispatcher,
which drops messages to anyone who opted out.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import timedelta

from botkit import Bot, Context, HandoffClosedContext, InboundMessage, Knowledge, Router
from bots.support.priorities import AGENT_PRIORITY, SURVEY_PRIORITY
from bots.support.records import PendingSurvey, Rating, SupportRecords

AGENT_WORDS = ("agent", "human", "person", "representative")
#: The timer that reminds a customer of an unanswered survey, per customer.
SURVEY_REMINDER = "survey_reminder"
#: A lone number: a rating, or a wrong one (0, 6, 10) to correct. Order numbers have 5 digits.
RATING = re.compile(r"^(?P<rating>\d{1,2})$")


def escalation_router(records: SupportRecords, knowledge: Knowledge) -> Router:
    router = Router("escalation")
    thanks_text = knowledge.text("survey_thanks")
    reminder_text = knowledge.text("survey_reminder")

    # interrupts_flows: someone halfway through a form who asks for a person gets one.
    @router.intent("agent", keywords=AGENT_WORDS, priority=AGENT_PRIORITY, interrupts_flows=True)
    async def escalate(ctx: Context) -> None:
        await ctx.handoff(reason="asked for a person")

    async def survey_pending(message: InboundMessage) -> bool:
        key = records.surveys.person_key(str(message.sender))
        return await records.surveys.get(key) is not None

    @router.intent(
        "survey_answer",
        pattern=RATING,
        when=survey_pending,
        priority=SURVEY_PRIORITY,
        interrupts_flows=True,
    )
    async def rate(ctx: Context) -> None:
        rating = int(ctx.slots["rating"])
        if not 1 <= rating <= 5:
            await ctx.reply("Please reply with a number from 1 to 5.")
            return
        customer = str(ctx.message.sender)
        survey = await records.surveys.take(records.surveys.person_key(customer))
        if survey is None:  # answered a moment ago, by another message
            return
        await records.ratings.put(
            survey.conversation_sid,
            Rating(
                conversation_sid=survey.conversation_sid,
                customer=customer,
                agent=survey.agent,
                rating=rating,
            ),
        )
        await ctx.cancel_reminder(SURVEY_REMINDER)
        await ctx.reply(thanks_text.format(rating=rating))

    @router.on_timer(SURVEY_REMINDER)
    async def remind(ctx: Context) -> None:
        if await records.surveys.get(records.surveys.person_key(str(ctx.message.sender))):
            await ctx.reply(reminder_text)

    return router


def survey_hook(
    bot: Bot, records: SupportRecords, knowledge: Knowledge, window: float
) -> Callable[[HandoffClosedContext], Awaitable[None]]:
    """What to register with ``bot.on_handoff_closed``: ask the customer for a rating, and
    remind them halfway through the survey ``window`` (seconds) if they have not answered."""
    survey_text = knowledge.text("survey")

    async def send_survey(ctx: HandoffClosedContext) -> None:
        if ctx.customer is None:  # a handoff started in a group chat: no one to ask
            return
        await records.surveys.put(
            records.surveys.person_key(ctx.customer),
            PendingSurvey(conversation_sid=ctx.conversation_sid, agent=ctx.agent),
        )
        await ctx.send(ctx.customer, survey_text)
        if ctx.proxy:
            await bot.schedule(
                ctx.customer,
                intent=SURVEY_REMINDER,
                from_=ctx.proxy,
                in_=timedelta(seconds=window / 2),
                key=SURVEY_REMINDER,
            )

    return send_survey
