"""Knowledge files: the FAQ answers and reply texts an operator edits without touching code.

A knowledge file is YAML::

    faq:
      hours:
        keywords: [hours, open, "opening times"]
        answer: We are open 9am to 6pm, Monday to Friday.
    texts:
      greeting: Hello! Ask me about our hours.

It is validated when it is loaded, normally when the bot module is imported, so a typo stops
``botkit run`` with one line naming the file and the problem instead of surfacing as a wrong
answer to a customer. Duplicate keys are refused too: YAML would silently keep the last one and
an operator's second ``hours:`` entry would quietly replace the first.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from botkit.errors import ConfigError

_WORD = re.compile(r"\w+")


def words_of(text: str) -> tuple[str, ...]:
    """The case-folded words of text: what keywords are compared with, so punctuation and case
    never decide whether "Hours?" matches the keyword "hours"."""
    return tuple(_WORD.findall(text.casefold()))


class KnowledgeError(ConfigError):
    """A knowledge file cannot be used; the message names the file and the problem."""


class FaqEntry(BaseModel):
    """One question topic: the keywords that recognise it and the answer sent back."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    keywords: tuple[str, ...] = Field(min_length=1)
    answer: str = Field(min_length=1)

    @field_validator("keywords")
    @classmethod
    def _keywords_have_words(cls, keywords: tuple[str, ...]) -> tuple[str, ...]:
        for keyword in keywords:
            if not words_of(keyword):
                raise ValueError(f"keyword {keyword!r} contains no word")
        return keywords

    @field_validator("answer")
    @classmethod
    def _answer_not_blank(cls, answer: str) -> str:
        if not answer.strip():
            raise ValueError("answer is blank")
        return answer.strip()

    def score(self, message_words: tuple[str, ...]) -> int:
        """How many of this entry's keywords occur in the message, each as whole words in order
        (so "opening times" matches "what are your opening times?" but not "times opening")."""
        return sum(1 for keyword in self.keywords if _contains(message_words, words_of(keyword)))


class Knowledge(BaseModel):
    """A loaded knowledge file: FAQ topics in file order, and named reply texts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    faq: dict[str, FaqEntry] = Field(default_factory=dict)
    texts: dict[str, str] = Field(default_factory=dict)

    def lookup(self, message: str) -> tuple[str, FaqEntry] | None:
        """The topic whose keywords best match the message's words, or None.

        The entry matching the most keywords wins; a tie goes to the entry written first in the
        file, so the operator decides by ordering it.
        """
        message_words = words_of(message)
        best: tuple[str, FaqEntry] | None = None
        best_score = 0
        for topic, entry in self.faq.items():
            score = entry.score(message_words)
            if score > best_score:
                best, best_score = (topic, entry), score
        return best

    def answer(self, message: str) -> str | None:
        """The answer to the message, or None when no FAQ entry matches it."""
        found = self.lookup(message)
        return found[1].answer if found is not None else None

    def text(self, name: str) -> str:
        """The reply text called name; a missing one is a KnowledgeError naming it."""
        try:
            return self.texts[name]
        except KeyError:
            known = ", ".join(sorted(self.texts)) or "none"
            raise KnowledgeError(f"no text {name!r} in the knowledge file (has: {known})") from None


def load_knowledge(path: str | Path) -> Knowledge:
    """Read and validate a knowledge file; any problem is a one-line KnowledgeError."""
    path = Path(path)
    try:
        source = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KnowledgeError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise KnowledgeError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise KnowledgeError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return parse_knowledge(source, source_name=str(path))


def parse_knowledge(source: str, *, source_name: str = "<knowledge>") -> Knowledge:
    """Validate knowledge given as YAML text; errors name source_name like a file."""
    try:
        document = yaml.load(source, Loader=_UniqueKeyLoader)  # a SafeLoader: no objects
    except yaml.MarkedYAMLError as exc:
        raise KnowledgeError(f"{source_name}: {_describe_yaml_error(exc)}") from None
    except yaml.YAMLError as exc:
        raise KnowledgeError(f"{source_name}: invalid YAML ({exc})") from None
    if document is None:
        raise KnowledgeError(f"{source_name}: the file is empty; expected a 'faq:' section")
    if not isinstance(document, dict):
        kind = type(document).__name__
        raise KnowledgeError(f"{source_name}: expected a mapping with 'faq:', got a {kind}")
    try:
        return Knowledge.model_validate(document)
    except ValidationError as exc:
        raise KnowledgeError(f"{source_name}: {_describe_validation_error(exc)}") from None


def _contains(haystack: tuple[str, ...], needle: tuple[str, ...]) -> bool:
    size = len(needle)
    return any(haystack[i : i + size] == needle for i in range(len(haystack) - size + 1))


def _describe_yaml_error(exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    problem = exc.problem or exc.context or "invalid YAML"
    return f"{where}{problem}"


def _describe_validation_error(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"{location}: {message}" if location else message)
    return "; ".join(parts)


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a mapping with the same key twice."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, Hashable) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            if isinstance(key, Hashable):
                seen.add(key)
        return super().construct_mapping(node, deep=deep)
