"""Settings read from the environment, under the names Twilio users already have.

Every value is validated at start-up so that a typo stops the process with one clear line
instead of surfacing later as a confusing runtime error.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from botkit.core.redis_url import RedisMode, RedisTarget, parse_redis_url
from botkit.errors import ConfigError
from botkit.outbound.limits.rates import RateTable
from botkit.outbound.quiet_hours import QuietHours
from botkit.twilio.development import DEVELOPMENT_ACCOUNT_SID
from botkit.twilio.signature import public_origin

#: Hashes development opt-outs; production must set its own secret BOTKIT_CONSENT_PEPPER.
DEVELOPMENT_PEPPER = "botkit-development-pepper"
#: Seconds in a day, for the retention defaults.
DAY = 24 * 3600.0
#: Shortest agent desk token accepted: it is the only thing between the web and customer chats.
MIN_DESK_TOKEN = 16

_ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
_SERVICE_SID = re.compile(r"^MG[0-9a-fA-F]{32}$")


def _unset_or_matching(value: str | None, pattern: re.Pattern[str], problem: str) -> str | None:
    """None for an unset or empty setting; otherwise the value, which must match pattern."""
    if value in (None, ""):
        return None
    if not pattern.match(value):
        raise ValueError(problem)
    return value


def _absolute_http_url(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if not re.fullmatch(r"https?://[^/\s]+(/\S*)?", value):
        raise ValueError(f"must be an absolute http(s) URL, got {value!r}")
    return value.rstrip("/")


AbsoluteUrl = Annotated[str | None, AfterValidator(_absolute_http_url)]


class Settings(BaseSettings):
    """botkit's configuration. Field names map to environment variables (see aliases)."""

    model_config = SettingsConfigDict(extra="ignore")

    def __init__(self, **values: Any) -> None:
        # Keyword arguments may use field names, but the environment is read only under the
        # documented names: populate_by_name would also make pydantic-settings read generic
        # variables such as VALIDATE_SIGNATURES or PUBLIC_URL that belong to other programs.
        fields = type(self).model_fields
        super().__init__(
            **{(fields[k].alias or k) if k in fields else k: v for k, v in values.items()}
        )

    twilio_account_sid: str | None = Field(
        None,
        alias="TWILIO_ACCOUNT_SID",
        description="Account SID (AC...); unset: development mode.",
    )
    twilio_auth_token: str | None = Field(
        None,
        alias="TWILIO_AUTH_TOKEN",
        description="Auth token; signs webhooks and authenticates REST calls.",
        repr=False,
    )
    redis_url: str | None = Field(
        None, alias="REDIS_URL", description="Redis URL; unset: in-process memory stores."
    )
    public_url: AbsoluteUrl = Field(
        None,
        alias="BOTKIT_PUBLIC_URL",
        description="Base URL Twilio calls; used to check signatures and build callback URLs.",
    )
    twilio_base_url: AbsoluteUrl = Field(
        None,
        alias="BOTKIT_TWILIO_BASE_URL",
        description="Where Twilio's hosts are reached (a sandbox); unset: the real Twilio.",
    )
    messaging_service_sid: str | None = Field(
        None, alias="BOTKIT_MESSAGING_SERVICE_SID", description="Default sender for bot.send."
    )
    trust_proxy: bool = Field(
        False,
        alias="BOTKIT_TRUST_PROXY",
        description="Rebuild the signed URL from X-Forwarded-Proto/Host (only behind your proxy).",
    )
    validate_signatures: bool = Field(
        True,
        alias="BOTKIT_VALIDATE_SIGNATURES",
        description="Check X-Twilio-Signature. Turning it off is logged loudly at start-up.",
    )
    session_ttl: float = Field(
        86400.0, gt=0, alias="BOTKIT_SESSION_TTL", description="Session lifetime in seconds."
    )
    dedup_ttl: float = Field(
        86400.0, gt=0, alias="BOTKIT_DEDUP_TTL", description="How long a MessageSid is remembered."
    )
    reply_hold: float = Field(
        0.05,
        ge=0,
        alias="BOTKIT_REPLY_HOLD",
        description=(
            "How long a 1:1 message's replies may wait, while its handler runs, to be queued in "
            "the same Redis round trip as the message's acknowledgement (0: each is queued as "
            "it is sent)."
        ),
    )
    lock_lease: float = Field(
        30.0, gt=0, alias="BOTKIT_LOCK_LEASE", description="Session lock lease, renewed while held."
    )
    inbound_lease: float = Field(
        60.0,
        gt=0,
        alias="BOTKIT_INBOUND_LEASE",
        description="Idle time after which another worker reclaims an unfinished inbound event.",
    )
    inbound_concurrency: int = Field(
        16, ge=1, alias="BOTKIT_INBOUND_CONCURRENCY", description="Inbound events run at once."
    )
    max_body_bytes: int = Field(
        64 * 1024, ge=1024, alias="BOTKIT_MAX_BODY_BYTES", description="Largest webhook accepted."
    )
    apology: str = Field(
        "Sorry, something went wrong on our side. Please try again.",
        alias="BOTKIT_APOLOGY",
        description="Reply sent when a handler raises.",
    )
    consent_pepper: str | None = Field(
        None,
        alias="BOTKIT_CONSENT_PEPPER",
        description="Secret (16+ bytes) the consent ledger hashes numbers with; required in "
        "production. Changing it forgets every opt-out.",
        repr=False,
    )
    dispatch_concurrency: int = Field(
        32,
        ge=1,
        alias="BOTKIT_DISPATCH_CONCURRENCY",
        description="Requests to Twilio in flight per process of outbound workers.",
    )
    dispatch_lease: float = Field(
        30.0,
        gt=0,
        alias="BOTKIT_DISPATCH_LEASE",
        description="Seconds before another worker reclaims a send that never reported back.",
    )
    max_attempts: int = Field(
        6,
        ge=1,
        alias="BOTKIT_MAX_ATTEMPTS",
        description="Tries before a transient failure becomes a dead letter.",
    )
    rates: RateTable = Field(
        default_factory=RateTable,
        alias="BOTKIT_RATES",
        description='Per-sender limits as JSON, e.g. {"long_code": 1, "senders": {"+1555...": 3}}.',
    )
    quiet_hours: QuietHours | None = Field(
        None,
        alias="BOTKIT_QUIET_HOURS",
        description='Bulk sends wait out this local-time window, as JSON {"start": "21:00", '
        '"end": "08:00"}; unset: off.',
    )
    conversations_identity: str = Field(
        "bot",
        min_length=1,
        alias="BOTKIT_CONVERSATIONS_IDENTITY",
        description="Author of the bot's Conversations messages; messages by it never reach "
        "the bot's intents.",
    )
    desk_tokens: dict[str, str] = Field(
        default_factory=dict,
        alias="BOTKIT_DESK_TOKENS",
        description="Agent desk sign-in (/desk/): a JSON object of agent -> secret token (16+ "
        'characters), e.g. {"ann": "..."}; unset: the desk is off, except in development mode, '
        "where each agent's token is its name.",
        repr=False,
    )
    log_format: str = Field(
        "auto",
        alias="BOTKIT_LOG_FORMAT",
        description="auto (JSON unless a terminal), json or console.",
    )
    log_level: str = Field("info", alias="BOTKIT_LOG_LEVEL", description="debug, info, warning.")
    # Read from the environment by botkit/core/event_loop.py, which makes the loop before the
    # settings are loaded; a field here documents and checks it.
    event_loop: str = Field(
        "auto",
        alias="BOTKIT_EVENT_LOOP",
        description="The event loop commands run on: auto (uvloop where it is installed, else "
        "asyncio's), uvloop or asyncio.",
    )
    redis_mode: RedisMode = Field(
        "auto",
        alias="BOTKIT_REDIS_MODE",
        description="auto (a server answering cluster_enabled:1 is a Redis Cluster), standalone, "
        "cluster, or sentinel (implied by a redis+sentinel:// URL).",
    )
    shards: int = Field(
        1,
        ge=1,
        le=1024,
        alias="BOTKIT_SHARDS",
        description="Shards of the inbound stream, the sessions, the outbound queue and its "
        "rate state, each in its own hash slot: raise it (e.g. 16) to spread them over a Redis "
        "Cluster's masters. Drain the queues before changing it (docs/deployment.md).",
    )
    accept_replicas: int | None = Field(
        None,
        ge=0,
        alias="BOTKIT_ACCEPT_REPLICAS",
        description="Replicas an accepted webhook and a queued message must reach before the "
        "200 (Redis WAIT); unset: 1 when the master has a replica, else 0.",
    )
    accept_replica_timeout: float = Field(
        0.5,
        gt=0,
        alias="BOTKIT_ACCEPT_REPLICA_TIMEOUT",
        description="Seconds to wait for those replicas; not reached in time: 503, and Twilio "
        "retries.",
    )
    public_hosts: str | None = Field(
        None,
        alias="BOTKIT_PUBLIC_HOSTS",
        description="Comma-separated hosts Twilio calls (host[:port] for https, or "
        "http://host[:port]), when BOTKIT_PUBLIC_URL is unset: the request's Host (or, with "
        "BOTKIT_TRUST_PROXY, X-Forwarded-Host) must be one of them.",
    )
    accept_timeout: float = Field(
        2.0,
        gt=0,
        lt=15,
        alias="BOTKIT_ACCEPT_TIMEOUT",
        description="Seconds a webhook waits for the inbound queue (Redis) to confirm it before "
        "the answer is 503; also bounds /readyz's ping. Twilio gives up after 15.",
    )
    header_timeout: float = Field(
        10.0,
        gt=0,
        alias="BOTKIT_HEADER_TIMEOUT",
        description="Seconds a new connection may take to send its first complete request head "
        "before it is closed (`botkit run`).",
    )
    body_timeout: float = Field(
        10.0,
        gt=0,
        alias="BOTKIT_BODY_TIMEOUT",
        description="Seconds a webhook's body may take to arrive before the answer is 408.",
    )
    max_connections: int = Field(
        1000,
        ge=1,
        alias="BOTKIT_MAX_CONNECTIONS",
        description="Open connections each `botkit run` process keeps at most; past it, a new "
        "one replaces the oldest idle one, or gets 503 if none is idle.",
    )

    # Retention: how long each kind of record keeps personal data (docs/privacy.md).
    status_retention: float = Field(
        7 * DAY,
        gt=0,
        alias="BOTKIT_STATUS_RETENTION",
        description="Seconds a sent message's delivery status is kept (status callbacks after "
        "it are ignored).",
    )
    dead_letter_retention: float = Field(
        7 * DAY,
        gt=0,
        alias="BOTKIT_DEAD_LETTER_RETENTION",
        description="Seconds a dead letter keeps its recipient and text (for `botkit "
        "deadletters replay`); after it only the reason and a redacted copy stay.",
    )
    redacted_dead_letter_retention: float = Field(
        90 * DAY,
        gt=0,
        alias="BOTKIT_REDACTED_DEAD_LETTER_RETENTION",
        description="Seconds a dead letter is kept at all (its redacted copy, after "
        "BOTKIT_DEAD_LETTER_RETENTION); then it is dropped.",
    )
    handoff_retention: float = Field(
        30 * DAY,
        gt=0,
        alias="BOTKIT_HANDOFF_RETENTION",
        description="Seconds a handoff record (customer, agent, queue place) lives after its "
        "last change.",
    )
    handoff_history_retention: float = Field(
        7 * DAY,
        gt=0,
        alias="BOTKIT_HANDOFF_HISTORY_RETENTION",
        description="Seconds a conversation's handoff history (messages, notes, notices) lives "
        "after its last entry.",
    )
    transcript_retention: float = Field(
        DAY,
        gt=0,
        alias="BOTKIT_TRANSCRIPT_RETENTION",
        description="Seconds a customer's last 1:1 turns with the bot (the transcript an agent "
        "is handed) live after the last one.",
    )
    audit_retention: float = Field(
        4 * 365 * DAY,
        gt=0,
        alias="BOTKIT_AUDIT_RETENTION",
        description="Seconds an audit entry (a consent change, an erasure) is kept, hashed; "
        "the standing opt-out itself is kept until lifted.",
    )
    retention_sweep_interval: float = Field(
        600.0,
        gt=0,
        alias="BOTKIT_RETENTION_SWEEP_INTERVAL",
        description="Seconds between an outbound worker's sweeps of dead letters past their "
        "retention.",
    )
    rewrite_aof_after_erase: bool = Field(
        True,
        alias="BOTKIT_REWRITE_AOF_AFTER_ERASE",
        description="After `botkit privacy erase`, rewrite Redis's AOF and save a new RDB "
        "snapshot, so the erased data leaves the persistence files too.",
    )

    @field_validator("twilio_account_sid")
    @classmethod
    def _check_account_sid(cls, value: str | None) -> str | None:
        return _unset_or_matching(value, _ACCOUNT_SID, "must be 'AC' followed by 32 hex characters")

    @field_validator("messaging_service_sid")
    @classmethod
    def _check_service_sid(cls, value: str | None) -> str | None:
        return _unset_or_matching(value, _SERVICE_SID, "must be 'MG' followed by 32 hex characters")

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        parse_redis_url(value)
        return value

    @model_validator(mode="after")
    def _check_redis_mode(self) -> Settings:
        if self.redis_url is not None:
            try:
                parse_redis_url(self.redis_url, self.redis_mode)
            except ValueError as exc:
                mode = self.redis_mode
                raise ValueError(f"REDIS_URL with BOTKIT_REDIS_MODE={mode}: {exc}") from None
        return self

    def redis_target(self) -> RedisTarget | None:
        """What REDIS_URL names (None: memory stores)."""
        return None if self.redis_url is None else parse_redis_url(self.redis_url, self.redis_mode)

    @field_validator("public_hosts")
    @classmethod
    def _check_public_hosts(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return ",".join(public_origin(host.strip()) for host in value.split(",") if host.strip())

    @field_validator("desk_tokens")
    @classmethod
    def _check_desk_tokens(cls, value: dict[str, str]) -> dict[str, str]:
        for agent, token in value.items():
            if not agent.strip() or len(token) < MIN_DESK_TOKEN:
                raise ValueError(
                    f"each agent needs a token of {MIN_DESK_TOKEN}+ characters ({agent!r} has "
                    f"{len(token)})"
                )
        if len(set(value.values())) != len(value):
            raise ValueError("two agents share a token: give each its own")
        return value

    @field_validator("event_loop")
    @classmethod
    def _check_event_loop(cls, value: str) -> str:
        if value not in ("auto", "uvloop", "asyncio"):
            raise ValueError("must be auto, uvloop or asyncio")
        return value

    @field_validator("log_format")
    @classmethod
    def _check_log_format(cls, value: str) -> str:
        if value not in ("auto", "json", "console"):
            raise ValueError("must be auto, json or console")
        return value

    def pepper(self) -> str:
        """The consent pepper; the development one only without a Twilio account."""
        if self.consent_pepper:
            return self.consent_pepper
        if self.development:
            return DEVELOPMENT_PEPPER
        raise ConfigError(
            "BOTKIT_CONSENT_PEPPER: required with a Twilio account (a secret of 16+ bytes that "
            "the opt-out ledger hashes numbers with)"
        )

    @property
    def public_origins(self) -> frozenset[str]:
        """BOTKIT_PUBLIC_HOSTS as origins (``https://bot.example.com``)."""
        return frozenset((self.public_hosts or "").split(",")) - {""}

    @property
    def development(self) -> bool:
        """True without a real Twilio account: none configured, or the development sandbox's."""
        return self.twilio_account_sid in (None, DEVELOPMENT_ACCOUNT_SID)


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, turning validation errors into one ConfigError line."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from None
    except SettingsError as exc:  # a JSON-valued variable that is not JSON
        field = re.search(r'field "(\w+)"', str(exc))
        name = field.group(1) if field else "?"
        alias = Settings.model_fields[name].alias if name in Settings.model_fields else name
        raise ConfigError(f"invalid settings: {alias}: not valid JSON") from None


def describe_validation_error(exc: ValidationError) -> str:
    """One line naming each bad environment variable and why, for operators."""
    parts = []
    fields = Settings.model_fields
    for error in exc.errors():
        loc = str(error["loc"][0]) if error["loc"] else "?"
        field = fields.get(loc)
        name = field.alias if field is not None and field.alias else loc
        # Inside a JSON setting, the key at fault (BOTKIT_RATES: long_code.rate: ...).
        where = ".".join(str(part) for part in error["loc"][1:])
        message = str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"{name}: {where}: {message}" if where else f"{name}: {message}")
    return "invalid settings: " + "; ".join(parts)
