"""Everything the sandbox remembers, in memory: messages, numbers, consent, phones, windows."""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field

from botkit.sandbox.config import MessagingService, OwnedNumber, SandboxConfig
from botkit.sandbox.content import ContentTemplate
from botkit.sandbox.events import EventBus
from botkit.sandbox.messages import MessageRecord
from botkit.sandbox.rates import RateBook


@dataclass
class Phone:
    """A simulated handset: an SMS number or a WhatsApp address."""

    address: str
    name: str | None = None

    @property
    def channel(self) -> str:
        if is_identity(self.address):
            return "chat"
        return "whatsapp" if self.address.startswith("whatsapp:") else "sms"


def is_identity(address: str) -> bool:
    """A Conversations chat identity (``agent``), not a phone number, WhatsApp address or short
    code: the simulator plays its chat client."""
    return not address.startswith(("+", "whatsapp:")) and not address.isdigit()


@dataclass
class SandboxState:
    config: SandboxConfig
    bus: EventBus = field(default_factory=EventBus)
    messages: OrderedDict[str, MessageRecord] = field(default_factory=OrderedDict)
    numbers: dict[str, OwnedNumber] = field(default_factory=dict)
    services: dict[str, MessagingService] = field(default_factory=dict)
    phones: dict[str, Phone] = field(default_factory=dict)
    #: (phone number without prefix, sender number or service SID) pairs that texted STOP.
    opted_out: set[tuple[str, str]] = field(default_factory=set)
    #: (user address, sender address) -> wall time of the user's last inbound message.
    last_inbound: dict[tuple[str, str], float] = field(default_factory=dict)
    #: Content templates (HX...) that messages may be sent with.
    contents: dict[str, ContentTemplate] = field(default_factory=dict)
    #: Short links made for ShortenUrls=true -> the link they stand for.
    short_links: dict[str, str] = field(default_factory=dict)
    rates: RateBook = field(init=False)
    #: Pool number (no channel prefix) -> its Messaging Service.
    _service_of: dict[str, MessagingService] = field(init=False, default_factory=dict)
    #: (recipient address, service SID) -> the pool number they last exchanged messages with:
    #: Twilio's Sticky Sender, kept as messages are added instead of searched for per send.
    _sticky: dict[tuple[str, str], str] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.rates = RateBook(dict(self.config.rates), tolerance=self.config.rate_tolerance)
        for owned in self.config.numbers:
            self.numbers[owned.number] = owned
        for service in self.config.services:
            self.services[service.sid] = service
            for number in service.numbers:
                self._service_of.setdefault(number.removeprefix("whatsapp:"), service)

    def add_message(self, record: MessageRecord) -> None:
        self.messages[record.sid] = record
        self._remember_sender(record)
        self.publish_message(record)

    def _remember_sender(self, record: MessageRecord) -> None:
        for ours, theirs in ((record.from_, record.to), (record.to, record.from_)):
            service = self.service_for_number(ours) if ours else None
            if service is not None and theirs:
                self._sticky[(theirs, service.sid)] = ours or ""
                return

    def sticky_sender(self, recipient: str, service: MessagingService) -> str | None:
        """The pool number recipient last exchanged a message with, if any."""
        return self._sticky.get((recipient, service.sid))

    def publish_message(self, record: MessageRecord) -> None:
        self.bus.publish_lazily("message", record.sandbox_json)

    def service_for_number(self, number: str) -> MessagingService | None:
        """The service whose sender pool holds number (``+1...`` or ``whatsapp:+1...``)."""
        return self._service_of.get(number.removeprefix("whatsapp:"))

    def phone(self, address: str) -> Phone:
        found = self.phones.get(address)
        if found is None:
            found = self.phones[address] = Phone(address)
            self.bus.publish("phone", {"address": address, "channel": found.channel})
        return found

    def whatsapp_window_open(self, user: str, sender: str) -> bool:
        last = self.last_inbound.get((user, sender))
        return last is not None and time.time() - last < self.config.whatsapp_window
