"""Knowledge files: loading, answering by the words of a message, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from botkit import ConfigError
from botkit.app.knowledge import Knowledge, KnowledgeError, load_knowledge, parse_knowledge

SAMPLE = """\
faq:
  hours:
    keywords: [hours, open, "opening times"]
    answer: We are open 9am to 6pm, Monday to Friday.
  shipping:
    keywords: [shipping, delivery, ship]
    answer: "  Orders ship within 2 working days.  "
  returns:
    keywords: [return, refund]
    answer: You can return anything within 30 days.
texts:
  greeting: Hello! Ask me about hours, shipping or returns.
"""


@pytest.fixture
def knowledge(tmp_path: Path) -> Knowledge:
    path = tmp_path / "knowledge.yaml"
    path.write_text(SAMPLE, encoding="utf-8")
    return load_knowledge(path)


def test_loads_topics_in_file_order_and_texts(knowledge: Knowledge) -> None:
    assert list(knowledge.faq) == ["hours", "shipping", "returns"]
    assert knowledge.faq["hours"].keywords == ("hours", "open", "opening times")
    assert knowledge.text("greeting") == "Hello! Ask me about hours, shipping or returns."


def test_answers_are_trimmed(knowledge: Knowledge) -> None:
    assert knowledge.faq["shipping"].answer == "Orders ship within 2 working days."


@pytest.mark.parametrize(
    ("message", "topic"),
    [
        ("What are your HOURS?", "hours"),
        ("when do you open", "hours"),
        ("your opening times please", "hours"),
        ("Shipping to Canada?", "shipping"),
        ("can I get a refund", "returns"),
    ],
)
def test_lookup_by_words_ignores_case_and_punctuation(
    knowledge: Knowledge, message: str, topic: str
) -> None:
    found = knowledge.lookup(message)
    assert found is not None
    assert found[0] == topic
    assert knowledge.answer(message) == knowledge.faq[topic].answer


@pytest.mark.parametrize(
    "message",
    [
        "hello there",
        "",
        "shipment",  # whole words only: "ship" is not in "shipment"
        "times opening",  # a phrase keyword matches its words in order
        "reopen",
    ],
)
def test_no_answer_without_a_whole_word_match(knowledge: Knowledge, message: str) -> None:
    assert knowledge.lookup(message) is None
    assert knowledge.answer(message) is None


def test_most_keywords_wins_then_file_order(knowledge: Knowledge) -> None:
    # "delivery" and "ship" (two shipping keywords) beat "open" (one hours keyword).
    found = knowledge.lookup("are you open, and do you ship? what about delivery")
    assert found is not None and found[0] == "shipping"
    # One keyword each: the entry written first in the file wins.
    found = knowledge.lookup("refund or shipping")
    assert found is not None and found[0] == "shipping"


def test_missing_text_names_it_and_the_known_ones(knowledge: Knowledge) -> None:
    with pytest.raises(KnowledgeError, match=r"no text 'goodbye' .*\(has: greeting\)"):
        knowledge.text("goodbye")


def test_texts_and_faq_are_optional() -> None:
    assert parse_knowledge("faq: {}\n").answer("hours") is None
    assert parse_knowledge("texts: {a: b}\n").text("a") == "b"


def test_a_knowledge_error_is_a_config_error_so_the_cli_prints_one_line() -> None:
    assert issubclass(KnowledgeError, ConfigError)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("", "the file is empty; expected a 'faq:' section"),
        ("- hours\n", "expected a mapping with 'faq:', got a list"),
        ("faq:\n  hours:\n    keywords: [hours\n", "line 4, column 1: expected ',' or ']'"),
        ("faq:\n  hours: [a\n  b: c\n", "line 3, column 4: expected ',' or ']', but got ':'"),
        (
            "faq:\n  hours:\n    keywords: [hours]\n",
            "faq.hours.answer: Field required",
        ),
        (
            "faq:\n  hours:\n    keywords: []\n    answer: x\n",
            "faq.hours.keywords: Tuple should have at least 1 item after validation, not 0",
        ),
        (
            "faq:\n  hours:\n    keywords: ['?!']\n    answer: x\n",
            "faq.hours.keywords: keyword '?!' contains no word",
        ),
        (
            "faq:\n  hours:\n    keywords: [hours]\n    answer: '   '\n",
            "faq.hours.answer: answer is blank",
        ),
        (
            "faq:\n  hours:\n    keyword: [hours]\n    answer: x\n",
            "faq.hours.keywords: Field required; faq.hours.keyword: Extra inputs are not permitted",
        ),
        ("faqs:\n  hours: {}\n", "faqs: Extra inputs are not permitted"),
        ("texts:\n  greeting: [a, b]\n", "texts.greeting: Input should be a valid string"),
        (
            "faq:\n  hours: {keywords: [a], answer: x}\n  hours: {keywords: [b], answer: y}\n",
            "line 3, column 3: duplicate key 'hours'",
        ),
        (
            "faq: !!python/object:os.system {}\n",
            "line 1, column 6: could not determine a constructor",
        ),
    ],
)
def test_a_malformed_file_is_one_line_naming_the_file_and_problem(
    tmp_path: Path, content: str, problem: str
) -> None:
    path = tmp_path / "kb.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(KnowledgeError) as raised:
        load_knowledge(path)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: {problem}"), message


def test_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(KnowledgeError, match=f"^{path}: no such file$"):
        load_knowledge(path)


def test_a_directory_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError, match=f"^{tmp_path}: cannot read \\(Is a directory\\)$"):
        load_knowledge(tmp_path)


def test_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("texts: {greeting: caf\u00e9}\n".encode("latin-1"))
    with pytest.raises(KnowledgeError, match=f"^{path}: not UTF-8 text$"):
        load_knowledge(path)
