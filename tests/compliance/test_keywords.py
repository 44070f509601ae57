"""STOP/START/HELP classification: Twilio's defaults, the exact-word rule, and configuration."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from botkit.compliance.keywords import (
    DEFAULT_HELP_REPLY,
    DEFAULT_OPT_IN_REPLY,
    DEFAULT_OPT_OUT_REPLY,
    LANGUAGE_PACKS,
    SPANISH,
    KeywordMatch,
    KeywordPolicy,
    KeywordReplies,
    KeywordSet,
    classify,
)

TWILIO_DEFAULTS = [
    *[(w, "opt_out") for w in
      ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"]],
    *[(w, "opt_in") for w in ["START", "YES", "UNSTOP"]],
    *[(w, "help") for w in ["HELP", "INFO"]],
]


@pytest.mark.parametrize(("word", "kind"), TWILIO_DEFAULTS)
def test_twilio_default_lists(word: str, kind: str) -> None:
    match = classify(word)
    assert match is not None
    assert (match.kind, match.keyword, match.language) == (kind, word, None)
    assert classify(word.lower()) == match


@pytest.mark.parametrize(
    "body",
    ["stop", "Stop", " STOP ", "\tstop\n", "STOP.", "stop!", "'Stop'", "...STOP?!",
     "\u200bSTOP\ufeff", "\uff33\uff34\uff2f\uff30"],  # zero-width edges; full-width STOP
)
def test_case_whitespace_and_edge_punctuation_do_not_matter(body: str) -> None:
    assert classify(body) == KeywordMatch(kind="opt_out", keyword="STOP")


@pytest.mark.parametrize(
    "body",
    ["STOP PLEASE", "please stop", "STOP STOP", "ST OP", "STOP-IT", "STOP\nnow", "STOPP",
     "STOP \U0001f6d1", "STOP\U0001f6d1", "S.T.O.P", "", "   ", "?!", "stopping", "HELP ME"],
)
def test_only_the_keyword_alone_counts(body: str) -> None:
    assert classify(body) is None


def test_none_body_is_not_a_keyword() -> None:
    assert classify(None) is None


def test_stopall_is_global_and_stop_is_not() -> None:
    stopall = classify("stopall")
    assert stopall is not None and stopall.is_global
    stop = classify("stop")
    assert stop is not None and not stop.is_global


def test_the_global_scope_can_be_turned_off() -> None:
    policy = KeywordPolicy(global_opt_out=frozenset())
    match = policy.classify("STOPALL")
    assert match == KeywordMatch(kind="opt_out", keyword="STOPALL", is_global=False)


def test_global_keywords_must_be_opt_out_keywords() -> None:
    with pytest.raises(ValidationError, match="not an opt-out keyword"):
        KeywordPolicy(global_opt_out=frozenset({"HELP"}))


def test_additions_extend_the_defaults() -> None:
    policy = KeywordPolicy().with_keywords(opt_out=["unsub", "Leave"], help=["support"])
    assert policy.classify("UNSUB") == KeywordMatch(kind="opt_out", keyword="UNSUB")
    assert policy.classify("leave!") == KeywordMatch(kind="opt_out", keyword="LEAVE")
    assert policy.classify("Support") == KeywordMatch(kind="help", keyword="SUPPORT")
    assert policy.classify("STOP") is not None and policy.classify("INFO") is not None
    assert classify("UNSUB") is None  # the default policy is untouched


def test_optional_defaults_can_be_dropped() -> None:
    # YES collides with bots that ask yes/no questions; Twilio lets you remove it.
    policy = KeywordPolicy(opt_in=frozenset({"START", "UNSTOP"}))
    assert policy.classify("yes") is None
    assert policy.classify("start") is not None


@pytest.mark.parametrize(
    ("field", "words", "missing"),
    [
        ("opt_out", {"STOPALL", "QUIT"}, "STOP"),
        ("opt_in", {"YES"}, "START"),
        ("help", {"INFO"}, "HELP"),
    ],
)
def test_stop_start_and_help_cannot_be_removed(field: str, words: set[str], missing: str) -> None:
    with pytest.raises(ValidationError, match=f"{missing} cannot be removed"):
        KeywordPolicy.model_validate({field: words})


@pytest.mark.parametrize("word", ["STOP NOW", "", "  ", "!STOP", "STOP."])
def test_keywords_must_be_single_bare_words(word: str) -> None:
    with pytest.raises(ValidationError):
        KeywordPolicy().with_keywords(opt_out=[word])


def test_a_word_cannot_be_two_kinds() -> None:
    with pytest.raises(ValidationError, match="YES is both opt_in and help"):
        KeywordPolicy().with_keywords(help=["yes"])
    with pytest.raises(ValidationError, match="both"):
        KeywordPolicy(languages={"x": KeywordSet(help=frozenset({"STOP"}))})


def test_language_packs_are_not_on_by_default() -> None:
    assert classify("PARAR") is None
    assert classify("AYUDA") is None


def test_spanish_pack_by_name() -> None:
    policy = KeywordPolicy(languages=["es"])  # names of LANGUAGE_PACKS are accepted
    assert policy.classify("¡Parar!") == KeywordMatch(
        kind="opt_out", keyword="PARAR", language="es"
    )
    assert policy.classify("ayuda") == KeywordMatch(kind="help", keyword="AYUDA", language="es")
    assert policy.classify("INICIAR") == KeywordMatch(
        kind="opt_in", keyword="INICIAR", language="es"
    )
    assert policy.classify("STOP") == KeywordMatch(kind="opt_out", keyword="STOP")


def test_language_names_from_a_setting_string() -> None:
    policy = KeywordPolicy.model_validate({"languages": "es, fr"})
    assert set(policy.languages) == {"es", "fr"}


def test_unknown_language_pack_is_an_error() -> None:
    with pytest.raises(ValidationError, match="unknown language pack 'xx'"):
        KeywordPolicy.model_validate({"languages": ["es", "xx"]})


def test_accents_are_ignored() -> None:
    policy = KeywordPolicy(languages={"fr": LANGUAGE_PACKS["fr"]})
    for body in ["ARRÊT", "arret", "Arrêt.", "ARRE\u0302T"]:
        match = policy.classify(body)
        assert match is not None and (match.kind, match.keyword) == ("opt_out", "ARRET")


def test_a_custom_language() -> None:
    german = KeywordSet(opt_out=frozenset({"stopp"}), help=frozenset({"hilfe"}))
    policy = KeywordPolicy(languages={"de": german})
    assert policy.classify("Stopp") == KeywordMatch(kind="opt_out", keyword="STOPP", language="de")
    # A pack without replies answers with the policy's own.
    match = policy.classify("HILFE")
    assert match is not None and policy.reply_for(match) == DEFAULT_HELP_REPLY


def test_default_replies_are_twilio_like() -> None:
    policy = KeywordPolicy()
    replies = {
        kind: policy.reply_for(KeywordMatch(kind=kind, keyword="X"))
        for kind in ("opt_out", "opt_in", "help")
    }
    assert replies == {
        "opt_out": DEFAULT_OPT_OUT_REPLY,
        "opt_in": DEFAULT_OPT_IN_REPLY,
        "help": DEFAULT_HELP_REPLY,
    }
    assert "START" in DEFAULT_OPT_OUT_REPLY and "STOP" in DEFAULT_HELP_REPLY


def test_replies_are_configurable_and_can_be_switched_off() -> None:
    policy = KeywordPolicy(replies=KeywordReplies(opt_out="Bye from Acme.", help=None))
    stop, help_ = policy.classify("stop"), policy.classify("help")
    assert stop is not None and help_ is not None
    assert policy.reply_for(stop) == "Bye from Acme."
    assert policy.reply_for(help_) is None  # e.g. Twilio's Advanced Opt-Out already answers


def test_replies_follow_the_keyword_language() -> None:
    policy = KeywordPolicy(languages={"es": SPANISH})
    parar, stop = policy.classify("parar"), policy.classify("stop")
    assert parar is not None and stop is not None
    assert SPANISH.replies is not None
    assert policy.reply_for(parar) == SPANISH.replies.opt_out
    assert policy.reply_for(stop) == DEFAULT_OPT_OUT_REPLY


def test_policy_is_immutable() -> None:
    policy = KeywordPolicy()
    with pytest.raises(ValidationError):
        policy.opt_out = frozenset({"STOP"})  # type: ignore[misc]
