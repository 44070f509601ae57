"""Multi-step flows: forms and dialogs that ask, check, remember, branch and confirm.

A flow is declared once, registered with the bot, and started from any handler::

    from botkit import Bot, Context, KeywordPolicy
    from botkit.flows import Ask, Confirm, Flow, email, integer

    # YES is an opt-in keyword by default (as on Twilio): take it out to ask yes/no questions.
    bot = Bot("shop", keywords=KeywordPolicy(opt_in={"START", "UNSTOP"}))

    order_status = Flow(
        "order_status",
        [
            Ask("order_id", "What is your order number?", validate=integer(min=1),
                retry="Order numbers are digits only. Which is yours?"),
            Ask("email", "What email did you order with?", validate=email(), remember=True),
            Ask("method", "Pickup or delivery?", options={"pickup": "Pickup",
                                                          "delivery": "Delivery"},
                next={"pickup": "ok"}),            # branch on the answer: skip the address
            Ask("address", "Where should we deliver?", remember=True),
            Confirm("ok", "Order {order_id} for {email}, right?", on_no="order_id"),
        ],
        timeout=15 * 60,
        on_timeout="That took a while, so I stopped. Text ORDER to start again.",
    )
    bot.add_flow(order_status)

    @order_status.on_done
    async def look_up(ctx: Context, answers: dict) -> None:
        await ctx.reply(f"Order {answers['order_id']} is on its way.")

    @bot.intent("order", pattern=r"^order(?:\\s+(?P<order_id>\\d+))?$")
    async def order(ctx: Context) -> None:
        await ctx.start_flow("order_status", order_id=ctx.slots.get("order_id"))

    @bot.intent("hours", keywords=["hours"], interrupts_flows=True)
    async def hours(ctx: Context) -> None:
        await ctx.reply("We are open 9-5.")   # then the flow asks its question again

What happens while a flow waits for an answer:

- The user's next message is the answer, whatever intent it would otherwise match. A bad
  answer is re-asked (the ``Invalid`` message, the step's ``retry``, or "Sorry, I did not get
  that." and the question); after ``max_attempts`` bad answers the flow sends ``on_fail`` and
  ends.
- ``Ask(options=...)`` takes the option's number, value or label (any case), or a WhatsApp
  quick-reply tap whose payload is the value; the options are listed under the question.
  ``Ask(validate=...)`` checks the text; ``Ask(parse=...)`` gets the whole InboundMessage,
  for answers that are a photo or a shared WhatsApp location.
- An answer is stored in the flow's answers under the step key; ``remember=True`` (or a session
  key) also stores it in ``ctx.session``, and a later flow skips that step while the session
  holds it: the bot asks only for what is missing. Answers passed to ``start_flow`` are skipped
  too; text given there goes through the step's options or validator like a typed answer, and
  a step whose given text does not pass is asked. Going back to a step
  (``Confirm(on_no="email")``) asks it again.
- ``next=`` picks the following step by answer (a mapping), by a function of the answers, or
  names a step, ``DONE`` or ``CANCEL``; ``when=`` asks a step only if a condition on the answers
  holds. With no ``next``, steps follow the list, and after the last one ``on_done`` runs with
  the answers (a dict of JSON values; a Confirm's answer is True or False).
- A cancel word (``cancel_words``, default "exit", "never mind") ends the flow with
  ``on_cancel``. STOP is not a cancel word: it is compliance, answered before any flow, and it
  ends the flow silently. Words the bot's ``KeywordPolicy`` reads as STOP/START/HELP (CANCEL,
  QUIT, END, YES, INFO... with Twilio's defaults) cannot be answers or cancel words: the bot
  refuses them when the flow is registered, because they would never reach the flow.
- HELP (the compliance reply), and any intent registered with ``interrupts_flows=True``, answers
  the user, and then the flow asks its question again.
- A question unanswered for ``timeout`` seconds (default 30 minutes; None: only the session TTL)
  ends the flow: the next message gets ``on_timeout`` (if set) and is routed as usual. Time is
  ``botkit.core.clock.now()``, so tests can move it.
- The flow's state is one JSON entry in the session (``botkit:flow``): it survives restarts
  and is shared by every process on the same Redis; it is saved or discarded with the rest of
  the session, so a handler that fails leaves the flow where it was. Flows run in 1:1 chats.

From a handler: ``await ctx.start_flow(name_or_flow, **known_answers)`` (or ``await
flow.start(ctx)``) starts a flow, replacing one in progress; ``ctx.active_flow`` names the flow
waiting for an answer; ``ctx.cancel_flow()`` ends it without a word.
"""

from botkit.errors import FlowError
from botkit.flows.flow import DEFAULT_CANCEL_WORDS, DoneAction, Flow
from botkit.flows.steps import CANCEL, DONE, Answers, Ask, Confirm, Invalid, Option, Step
from botkit.flows.validators import email, integer, matches

__all__ = [
    "CANCEL",
    "DEFAULT_CANCEL_WORDS",
    "DONE",
    "Answers",
    "Ask",
    "Confirm",
    "DoneAction",
    "Flow",
    "FlowError",
    "Invalid",
    "Option",
    "Step",
    "email",
    "integer",
    "matches",
]
