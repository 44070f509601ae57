"""Checks every Twilio payload parser makes of the parameters it was posted.

Twilio's signature joins names and values with no separator, so a signed request can be re-cut
at other boundaries and stay signed: "ApiVersion" merged into the value of "AccountSid", or
"Body" into the value of "ApiVersion". The parsers therefore require each parameter Twilio always
sends, in its exact shape: a re-cut request loses one, or leaves one malformed.

Each check raises the parser's own exception (``error``), whose text is the one-line reason.
Like the payload models, this module depends on nothing else in botkit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

#: The API version of the Messages webhooks and status callbacks.
API_VERSION = "2010-04-01"

_ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")


def shown(value: str) -> str:
    """A value quoted for a one-line reason, cut short: it came from the caller."""
    return repr(value if len(value) <= 40 else value[:40] + "...")


def required(params: Mapping[str, str], name: str, error: type[ValueError]) -> str:
    """The parameter's value, stripped; error when it is missing or blank."""
    value = params.get(name, "").strip()
    if not value:
        raise error(f"missing required parameter {name}")
    return value


def account_sid(params: Mapping[str, str], error: type[ValueError]) -> str:
    """AccountSid, which every webhook carries. Whether it is this bot's account is the
    server's to check; here, that it is one whole account SID."""
    value = required(params, "AccountSid", error)
    if not _ACCOUNT_SID.fullmatch(value):
        raise error(f"AccountSid {shown(value)} is not a Twilio account SID")
    return value


def api_version(params: Mapping[str, str], error: type[ValueError]) -> None:
    """Messages webhooks and status callbacks carry ApiVersion 2010-04-01, exactly."""
    value = params.get("ApiVersion")
    if value is None:
        raise error("missing required parameter ApiVersion")
    if value != API_VERSION:
        raise error(f"ApiVersion {shown(value)} is not Twilio's {API_VERSION}")
