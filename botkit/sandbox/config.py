"""What a sandbox emulates: its account, the numbers it owns, and how Twilio-like it behaves."""

from __future__ import annotations

from pydantic import BaseModel, Field

from botkit.twilio.development import DEVELOPMENT_ACCOUNT_SID, DEVELOPMENT_AUTH_TOKEN


class OwnedNumber(BaseModel):
    """A number the account owns, like an IncomingPhoneNumber with its SmsUrl."""

    number: str
    sms_url: str | None = None
    sms_method: str = "POST"


class MessagingService(BaseModel):
    """A Messaging Service: a sender pool, and where inbound messages to its numbers go."""

    sid: str
    numbers: list[str] = Field(default_factory=list)
    inbound_url: str | None = None
    #: The service's link shortening domain (``https://go.example.com``): with ShortenUrls=true
    #: the body's links become this domain and ten characters. None: links are left as they are.
    link_domain: str | None = None


class SandboxConfig(BaseModel):
    account_sid: str = DEVELOPMENT_ACCOUNT_SID
    auth_token: str = DEVELOPMENT_AUTH_TOKEN
    numbers: list[OwnedNumber] = Field(default_factory=list)
    services: list[MessagingService] = Field(default_factory=list)
    #: Seconds between status steps (queued → sending → sent → delivered).
    status_step: float = 0.02
    #: Numbers whose messages fail, with the error code they fail with (30003, 30006...).
    failing_numbers: dict[str, int] = Field(default_factory=dict)
    #: Numbers that are not WhatsApp users (63003).
    non_whatsapp_numbers: set[str] = Field(default_factory=set)
    #: Strict mode answers 429/20429 when a sender goes over its rate.
    strict_rates: bool = False
    #: How early (seconds) a send may arrive before its sender's rate allows it, in strict mode.
    rate_tolerance: float = 0.01
    #: Per-sender rates in segments (SMS) or messages per second, by sender kind.
    rates: dict[str, float] = Field(
        default_factory=lambda: {
            "long_code": 1.0,
            "toll_free": 3.0,
            "short_code": 100.0,
            "messaging_service": 10.0,
            "whatsapp": 80.0,
        }
    )
    #: Free-form WhatsApp messages are only allowed this long after the user's last message.
    whatsapp_window: float = 24 * 3600.0
    #: Keywords that opt a phone out of / back into a sender (Twilio's defaults).
    opt_out_keywords: set[str] = Field(
        default_factory=lambda: {
            "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"
        }
    )
    opt_in_keywords: set[str] = Field(default_factory=lambda: {"START", "YES", "UNSTOP"})
    help_keywords: set[str] = Field(default_factory=lambda: {"HELP", "INFO"})
    #: Answer STOP/START/HELP on SMS with Twilio's default confirmation messages, and say so
    #: on the inbound webhook with OptOutType as Advanced Opt-Out does. Opt-outs are recorded
    #: (sends to them fail with 21610) either way.
    keyword_replies: bool = True
    #: Scheduled messages (ScheduleType=fixed) must be due this far ahead: 300 s to 35 days.
    schedule_min_lead: float = 300.0
    schedule_max_lead: float = 35 * 24 * 3600.0
    webhook_timeout: float = 15.0
    #: Hosts webhooks may be posted to (None: any). Loopback by default: a local sandbox calls
    #: local bots, and must never send a test's traffic to a host a bot merely configured.
    webhook_hosts: frozenset[str] | None = frozenset({"127.0.0.1", "localhost", "::1"})
