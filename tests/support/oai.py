"""Twilio's OpenAPI descriptions (../shared/twilio-oai) as JSON Schemas to validate responses with.

The OAI files are OpenAPI 3.0: ``nullable: true`` beside a type, ``$ref`` into
``components/schemas``, and formats of Twilio's own (``date-time-rfc-2822``, ``phone-number``...).
``response_schema`` finds the operation for a concrete request (method and path), resolves every
``$ref`` inline, turns ``nullable`` into a JSON Schema type union, and returns a plain JSON Schema
(draft 2020-12). ``validate`` checks a document against it with checkers for Twilio's formats.

``closed=True`` also makes every declared property required and forbids undeclared ones: Twilio
always returns every field of a resource (null when empty), so a missing or extra field in the
sandbox's JSON is a conformance bug even though the OAI itself leaves objects open.
"""

from __future__ import annotations

import copy
import json
import re
from email.utils import parsedate_to_datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
from jsonschema import Draft202012Validator, FormatChecker

OAI_DIR = Path(__file__).resolve().parents[3] / "shared" / "twilio-oai"
API_V2010 = "twilio_api_v2010.json"
CONVERSATIONS_V1 = "twilio_conversations_v1.json"

Schema = dict[str, Any]

#: What Twilio answers an error with. The 2010-04-01 OAI declares no error responses, so an error
#: document is checked against this shape unless its operation declares one.
TWILIO_ERROR_SCHEMA: Schema = {
    "type": "object",
    "required": ["code", "message", "more_info", "status"],
    "properties": {
        "code": {"type": "integer"},
        "message": {"type": "string", "minLength": 1},
        "more_info": {"type": "string", "format": "uri", "pattern": r"^https://www\.twilio\.com/"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
    },
}


def oai_dir() -> Path:
    """../shared/twilio-oai beside the repository (falls back to /work/shared/twilio-oai)."""
    if OAI_DIR.is_dir():
        return OAI_DIR
    return Path("/work/shared/twilio-oai")


@cache
def load_spec(name: str = API_V2010) -> Schema:
    with (oai_dir() / name).open(encoding="utf-8") as handle:
        spec: Schema = json.load(handle)
    return spec


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    pattern = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(f"^{pattern}$")


def find_operation(spec: Schema, method: str, path: str) -> tuple[str, Schema]:
    """The (path template, operation) that serves ``method path``. The path may carry a query
    string, or be a whole URL (as Conversations' paging URLs are): only its path is matched."""
    method = method.lower()
    path = urlsplit(path).path
    matches = [
        (template, item[method])
        for template, item in spec["paths"].items()
        if method in item and _template_regex(template).match(path)
    ]
    if not matches:
        raise LookupError(f"no operation for {method.upper()} {path} in the OAI")
    # The most specific template (fewest parameters) wins, as routers do.
    matches.sort(key=lambda match: match[0].count("{"))
    return matches[0]


def declared_statuses(spec: Schema, method: str, path: str) -> set[str]:
    _, operation = find_operation(spec, method, path)
    return set(operation.get("responses", {}))


def response_schema(
    spec: Schema, method: str, path: str, status: int, *, closed: bool = False
) -> Schema | None:
    """The JSON Schema of the response to ``method path`` with HTTP ``status``.

    None when the operation declares that status without a JSON body (204); LookupError when it
    does not declare the status at all."""
    template, operation = find_operation(spec, method, path)
    responses = operation.get("responses", {})
    response = responses.get(str(status))
    if response is None:
        raise LookupError(f"{method.upper()} {template} declares no {status} response")
    content = response.get("content") or {}
    media = content.get("application/json")
    if media is None or "schema" not in media:
        return None
    schema: Schema = to_json_schema(spec, media["schema"], closed=closed)
    return schema


def component_schema(spec: Schema, name: str, *, closed: bool = False) -> Schema:
    schema: Schema = to_json_schema(spec, {"$ref": f"#/components/schemas/{name}"}, closed=closed)
    return schema


def to_json_schema(spec: Schema, node: Any, *, closed: bool = False) -> Any:
    """An OpenAPI 3.0 schema object as self-contained JSON Schema (refs inlined)."""
    return _translate(spec, copy.deepcopy(node), closed, ())


def _resolve(spec: Schema, ref: str) -> Any:
    if not ref.startswith("#/"):
        raise ValueError(f"only local $refs are supported, not {ref!r}")
    target: Any = spec
    for part in ref[2:].split("/"):
        target = target[part.replace("~1", "/").replace("~0", "~")]
    return target


#: OpenAPI-only keywords, and annotations that JSON Schema does not need.
_DROPPED = frozenset({"description", "example", "examples", "nullable", "title"})


def _translate(spec: Schema, node: Any, closed: bool, seen: tuple[str, ...]) -> Any:
    if isinstance(node, list):
        return [_translate(spec, item, closed, seen) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        if ref in seen:
            raise ValueError(f"recursive $ref {ref!r} is not supported")
        resolved = _translate(spec, copy.deepcopy(_resolve(spec, ref)), closed, (*seen, ref))
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        if siblings.get("nullable"):
            return {"anyOf": [resolved, {"type": "null"}]}
        return resolved
    result: Schema = {}
    for key, value in node.items():
        if key in ("properties", "patternProperties", "$defs", "definitions"):
            result[key] = {
                name: _translate(spec, sub, closed, seen) for name, sub in value.items()
            }
        elif key in _DROPPED or key.startswith("x-"):
            continue
        else:
            result[key] = _translate(spec, value, closed, seen)
    if node.get("nullable"):
        _make_nullable(result)
    if closed and result.get("type") in ("object", ["object", "null"]) and "properties" in result:
        result.setdefault("required", sorted(result["properties"]))
        result.setdefault("additionalProperties", False)
    return result


def _make_nullable(schema: Schema) -> None:
    kind = schema.get("type")
    if isinstance(kind, str):
        schema["type"] = [kind, "null"]
    elif isinstance(kind, list) and "null" not in kind:
        schema["type"] = [*kind, "null"]
    elif kind is None:
        # No type to widen (e.g. only an enum or a composition): allow null beside it.
        inner = dict(schema)
        schema.clear()
        schema["anyOf"] = [inner, {"type": "null"}]
        return
    if "enum" in schema and None not in schema["enum"]:
        schema["enum"] = [*schema["enum"], None]


# Twilio's formats ---------------------------------------------------------------------------

FORMATS = FormatChecker(formats=())

_RFC2822 = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"\d{4} \d{2}:\d{2}:\d{2} \+0000$"
)
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_ADDRESS = re.compile(r"^(whatsapp:)?\+[1-9]\d{6,14}$|^\d{3,8}$")
_ISO8601 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$")


def _is_rfc2822(value: object) -> bool:
    """Twilio's dates: ``Thu, 30 Jul 2015 20:12:31 +0000`` (GMT, two-digit day)."""
    if not isinstance(value, str):
        return True
    if not _RFC2822.match(value):
        return False
    try:
        parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return False
    return True


def _is_iso8601(value: object) -> bool:
    return not isinstance(value, str) or bool(_ISO8601.match(value))


def _is_phone_address(value: object) -> bool:
    """E.164, a channel address (``whatsapp:+E164``) or a short code."""
    return not isinstance(value, str) or bool(_ADDRESS.match(value))


def _is_uri(value: object) -> bool:
    """Absolute http(s) URLs, or URIs relative to Twilio's API host (``/2010-04-01/...``)."""
    if not isinstance(value, str):
        return True
    return value.startswith("/") or value.startswith(("https://", "http://"))


def _is_uri_map(value: object) -> bool:
    if not isinstance(value, dict):
        return True
    return all(isinstance(v, str) and _is_uri(v) for v in value.values())


def _is_currency(value: object) -> bool:
    return not isinstance(value, str) or bool(re.fullmatch(r"[A-Za-z]{3}", value))


for _name, _check in {
    "date-time-rfc-2822": _is_rfc2822,
    "date-time": _is_iso8601,
    "phone-number": _is_phone_address,
    "uri": _is_uri,
    "uri-map": _is_uri_map,
    "currency": _is_currency,
}.items():
    FORMATS.checks(_name)(_check)


def is_e164(value: str) -> bool:
    return bool(_E164.match(value))


def validate(instance: Any, schema: Schema) -> None:
    """Raise jsonschema.ValidationError (the most relevant one) if instance does not conform."""
    validator = Draft202012Validator(schema, format_checker=FORMATS)
    error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
    if error is not None:
        raise error


def errors(instance: Any, schema: Schema) -> list[str]:
    """Every violation, as readable lines (empty when instance conforms)."""
    validator = Draft202012Validator(schema, format_checker=FORMATS)
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
        for error in sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
    ]
