"""Which inbound messages are STOP, START or HELP keywords, and what we answer to them.

The defaults are Twilio's Advanced Opt-Out lists, so a bot behaves the way carriers and users
expect on day one. A policy may add keywords and other languages and drop optional ones (YES is
a common casualty: it collides with bots that ask yes/no questions), but STOP, START and HELP
can never be removed, as on Twilio.

Matching rule: a message is a keyword only when it is that keyword alone. Before comparing we

- trim whitespace and invisible format characters (zero-width spaces, BOMs) at both ends;
- trim punctuation at both ends, so "Stop.", "STOP!" and "¡PARAR!" count: a person who
  punctuates a STOP still means it, and missing an opt-out is the costly mistake;
- ignore case and accents, and fold compatibility forms (full-width letters), so "ARRÊT" and
  "arret" are the same word.

Anything else is not a keyword: "STOP PLEASE", "STOP-IT", "ST OP", "STOP 🛑" all go to the bot's
handlers like any other message.

Confirmation replies default to Twilio-like wording. Set one to None to send nothing, which is
what you want when Twilio's own Advanced Opt-Out already answers for the Messaging Service
(the webhook then carries ``OptOutType``); otherwise the user gets two confirmations.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

KeywordKind = Literal["opt_out", "opt_in", "help"]
KINDS: tuple[KeywordKind, ...] = ("opt_out", "opt_in", "help")

#: Twilio's Advanced Opt-Out defaults.
TWILIO_OPT_OUT = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
TWILIO_OPT_IN = frozenset({"START", "YES", "UNSTOP"})
TWILIO_HELP = frozenset({"HELP", "INFO"})
#: Keywords a policy may never drop (Twilio does not let you remove them either).
MANDATORY: dict[KeywordKind, str] = {"opt_out": "STOP", "opt_in": "START", "help": "HELP"}

DEFAULT_OPT_OUT_REPLY = (
    "You have successfully been unsubscribed. You will not receive any more messages from "
    "this number. Reply START to resubscribe."
)
DEFAULT_OPT_IN_REPLY = (
    "You have successfully been re-subscribed to messages from this number. Reply HELP for "
    "help. Reply STOP to unsubscribe. Msg&Data Rates May Apply."
)
DEFAULT_HELP_REPLY = "Reply STOP to unsubscribe. Msg&Data Rates May Apply."


def normalize_text(text: str) -> str:
    """The form both message bodies and configured keywords are compared in."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    start, end = 0, len(bare)
    while start < end and _is_edge(bare[start]):
        start += 1
    while end > start and _is_edge(bare[end - 1]):
        end -= 1
    return bare[start:end].casefold()


def _is_edge(char: str) -> bool:
    category = unicodedata.category(char)
    return char.isspace() or category[0] == "P" or category == "Cf"


def _keyword(word: str) -> str:
    """Validate one configured keyword; return its display form (trimmed, upper case)."""
    display = word.strip().upper()
    key = normalize_text(display)
    if not key or any(c.isspace() for c in key):
        raise ValueError(f"keyword {word!r} must be a single word")
    if _is_edge(display[0]) or _is_edge(display[-1]):
        # Bodies lose their edge punctuation before matching, so this could never match.
        raise ValueError(f"keyword {word!r} must not start or end with punctuation")
    return display


def _keywords(words: Iterable[str]) -> frozenset[str]:
    return frozenset(_keyword(w) for w in words)


class KeywordReplies(BaseModel):
    """What to answer to each kind of keyword; None sends nothing."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    opt_out: str | None = DEFAULT_OPT_OUT_REPLY
    opt_in: str | None = DEFAULT_OPT_IN_REPLY
    help: str | None = DEFAULT_HELP_REPLY

    def for_kind(self, kind: KeywordKind) -> str | None:
        reply: str | None = getattr(self, kind)
        return reply


class KeywordSet(BaseModel):
    """One language's keywords and, optionally, its replies (None: use the policy's)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    opt_out: frozenset[str] = frozenset()
    opt_in: frozenset[str] = frozenset()
    help: frozenset[str] = frozenset()
    replies: KeywordReplies | None = None

    @field_validator("opt_out", "opt_in", "help")
    @classmethod
    def _check_words(cls, words: frozenset[str]) -> frozenset[str]:
        return _keywords(words)


#: Optional language packs. None is on by default: opt in with ``languages=["es"]``. The words are
#: common carrier/CTIA-style choices, not a Twilio default; review them for your audience.
SPANISH = KeywordSet(
    opt_out=frozenset({"PARAR", "DETENER", "CANCELAR", "BAJA"}),
    opt_in=frozenset({"INICIAR", "ALTA"}),
    help=frozenset({"AYUDA"}),
    replies=KeywordReplies(
        opt_out=(
            "Se ha dado de baja correctamente. No recibirá más mensajes de este número. "
            "Responda INICIAR para volver a suscribirse."
        ),
        opt_in=(
            "Se ha vuelto a suscribir a los mensajes de este número. Responda AYUDA para "
            "obtener ayuda o PARAR para darse de baja. Pueden aplicarse tarifas."
        ),
        help="Responda PARAR para darse de baja. Pueden aplicarse tarifas de mensajes y datos.",
    ),
)
FRENCH = KeywordSet(
    opt_out=frozenset({"ARRET"}),  # ARRÊT matches too: accents are ignored
    help=frozenset({"AIDE"}),
    replies=KeywordReplies(
        opt_out=(
            "Votre désabonnement est confirmé. Vous ne recevrez plus de messages de ce numéro. "
            "Répondez START pour vous réabonner."
        ),
        opt_in=(
            "Vous êtes de nouveau abonné aux messages de ce numéro. Répondez AIDE pour de "
            "l'aide ou ARRET pour vous désabonner."
        ),
        help="Répondez ARRET pour vous désabonner. Des frais de messagerie peuvent s'appliquer.",
    ),
)
LANGUAGE_PACKS: dict[str, KeywordSet] = {"es": SPANISH, "fr": FRENCH}


class KeywordMatch(BaseModel):
    """An inbound message that is a compliance keyword."""

    model_config = ConfigDict(frozen=True)

    kind: KeywordKind
    #: The keyword as configured (upper case), e.g. "STOPALL" for a body of " stopall! ".
    keyword: str
    #: An opt-out from every sender, not only the one written to (STOPALL by default).
    is_global: bool = False
    #: The language pack the keyword came from; None for the policy's own lists.
    language: str | None = None


class KeywordPolicy(BaseModel):
    """The keyword lists and replies. The defaults are Twilio's.

    ``opt_out``, ``opt_in`` and ``help`` are the full lists: add to them (see ``with_keywords``)
    or drop optional entries, but STOP, START and HELP must stay. ``languages`` maps a language
    name to extra keywords and their replies; a list of names picks from ``LANGUAGE_PACKS``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    opt_out: frozenset[str] = TWILIO_OPT_OUT
    opt_in: frozenset[str] = TWILIO_OPT_IN
    help: frozenset[str] = TWILIO_HELP
    #: Opt-out keywords that opt out of every sender (the ledger's global scope). Empty: none.
    global_opt_out: frozenset[str] = frozenset({"STOPALL"})
    languages: dict[str, KeywordSet] = Field(default_factory=dict)
    replies: KeywordReplies = KeywordReplies()

    _table: dict[str, KeywordMatch] = PrivateAttr(default_factory=dict)

    @field_validator("opt_out", "opt_in", "help", "global_opt_out")
    @classmethod
    def _check_words(cls, words: frozenset[str]) -> frozenset[str]:
        return _keywords(words)

    @field_validator("languages", mode="before")
    @classmethod
    def _named_packs(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part for part in value.replace(",", " ").split() if part]
        if isinstance(value, list | tuple | set | frozenset):
            unknown = sorted(name for name in value if name not in LANGUAGE_PACKS)
            if unknown:
                known = ", ".join(sorted(LANGUAGE_PACKS))
                raise ValueError(f"unknown language pack {unknown[0]!r} (known: {known})")
            return {name: LANGUAGE_PACKS[name] for name in value}
        return value

    @model_validator(mode="after")
    def _build_table(self) -> KeywordPolicy:
        for kind, word in MANDATORY.items():
            if word not in getattr(self, kind):
                raise ValueError(f"{word} cannot be removed from the {kind} keywords")
        sources: list[tuple[str | None, KeywordSet]] = [
            (None, KeywordSet(opt_out=self.opt_out, opt_in=self.opt_in, help=self.help))
        ]
        sources.extend(self.languages.items())
        table: dict[str, KeywordMatch] = {}
        for language, words in sources:
            for kind in KINDS:
                for word in sorted(getattr(words, kind)):
                    key = normalize_text(word)
                    known = table.get(key)
                    if known is not None and known.kind != kind:
                        raise ValueError(f"keyword {word} is both {known.kind} and {kind}")
                    if known is None:
                        table[key] = KeywordMatch(
                            kind=kind,
                            keyword=word,
                            is_global=kind == "opt_out" and word in self.global_opt_out,
                            language=language,
                        )
        for word in self.global_opt_out:
            match = table.get(normalize_text(word))
            if match is None or match.kind != "opt_out":
                raise ValueError(f"global opt-out keyword {word} is not an opt-out keyword")
        self._table = table
        return self

    def classify(self, body: str | None) -> KeywordMatch | None:
        """The keyword this message is, or None when it is anything else."""
        if not body:
            return None
        return self._table.get(normalize_text(body))

    def reply_for(self, match: KeywordMatch) -> str | None:
        """The confirmation to send, in the keyword's language when its pack has replies."""
        pack = self.languages.get(match.language) if match.language else None
        replies = pack.replies if pack is not None and pack.replies is not None else self.replies
        return replies.for_kind(match.kind)

    def with_keywords(
        self,
        *,
        opt_out: Iterable[str] = (),
        opt_in: Iterable[str] = (),
        help: Iterable[str] = (),
    ) -> KeywordPolicy:
        """A copy of this policy with keywords added to its own lists."""
        return KeywordPolicy(
            opt_out=self.opt_out | frozenset(opt_out),
            opt_in=self.opt_in | frozenset(opt_in),
            help=self.help | frozenset(help),
            global_opt_out=self.global_opt_out,
            languages=self.languages,
            replies=self.replies,
        )


DEFAULT_POLICY = KeywordPolicy()


def classify(body: str | None, policy: KeywordPolicy = DEFAULT_POLICY) -> KeywordMatch | None:
    """Classify an inbound body under a policy (Twilio's defaults unless given)."""
    return policy.classify(body)
