"""The sandbox as an aiohttp app, and ``Sandbox`` to embed it in a process (CLI, tests)."""

from __future__ import annotations

from aiohttp import web

from botkit.core.net import local_url
from botkit.sandbox import simulator
from botkit.sandbox.api_content import ContentApi
from botkit.sandbox.api_media import MediaApi
from botkit.sandbox.api_messages import MessagesApi
from botkit.sandbox.api_phones import PhonesApi
from botkit.sandbox.config import OwnedNumber, SandboxConfig
from botkit.sandbox.conversations import install_conversations
from botkit.sandbox.conversations.chat_phones import ChatPhones
from botkit.sandbox.delivery import Delivery
from botkit.sandbox.errors import api_errors
from botkit.sandbox.state import SandboxState
from botkit.sandbox.webhooks import WebhookPoster

STATE = web.AppKey("botkit.sandbox.state", SandboxState)
DELIVERY = web.AppKey("botkit.sandbox.delivery", Delivery)


def create_sandbox_app(config: SandboxConfig | None = None) -> web.Application:
    config = config or SandboxConfig()
    state = SandboxState(config)
    poster = WebhookPoster(config.auth_token, config.webhook_timeout, config.webhook_hosts)
    delivery = Delivery(state, poster)
    app = web.Application(middlewares=[api_errors])
    app[STATE] = state
    app[DELIVERY] = delivery
    app.router.add_routes(MessagesApi(state, delivery).routes())
    app.router.add_routes(MediaApi(state).routes())
    conversations = install_conversations(app, state, delivery)
    app.router.add_routes(PhonesApi(state, delivery, ChatPhones(conversations)).routes())
    app.router.add_routes(ContentApi(state).routes())
    app.router.add_routes(simulator.routes())

    async def end_event_streams(app: web.Application) -> None:
        state.bus.close()

    app.on_shutdown.append(end_event_streams)

    async def shutdown(app: web.Application) -> None:
        await delivery.close()
        await poster.close()

    app.on_cleanup.append(shutdown)
    return app


class Sandbox:
    """A running sandbox. ``await Sandbox().start()`` returns its base URL."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self.app = create_sandbox_app(self.config)
        self._runner: web.AppRunner | None = None
        self.url = ""

    @property
    def state(self) -> SandboxState:
        return self.app[STATE]

    @property
    def delivery(self) -> Delivery:
        return self.app[DELIVERY]

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = self._runner.addresses[0]
        self.url = local_url(host, bound[1])
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def own_number(self, number: str, sms_url: str | None) -> None:
        """Own number and post its inbound messages to sms_url (like SmsUrl)."""
        self.state.numbers[number] = OwnedNumber(number=number, sms_url=sms_url)

    async def settle(self) -> None:
        """Wait for every status lifecycle and webhook in flight to finish."""
        await self.delivery.settle()
