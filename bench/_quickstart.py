"""System B of bench/inbound.py: Twilio's own quickstart for incoming SMS, in Flask, secured as
Twilio's "Secure your Flask app by validating incoming Twilio requests" guide does it.

The app bench/inbound.py serves under gunicorn with 2 sync workers, as the quickstart's
deployment advice runs Flask: ``gunicorn -w 2 bench._quickstart:app`` from the repository root,
with TWILIO_AUTH_TOKEN set. Like the guide's decorator, it builds a RequestValidator per request
and validates ``request.url`` (the URL the client called, from its Host header); it answers with
an empty ``MessagingResponse``, the TwiML botkit answers too.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, Response, abort, request
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

app = Flask(__name__)


def validate_twilio_request(view: Callable[..., Any]) -> Callable[..., Any]:
    """The guide's decorator: 403 unless X-Twilio-Signature is right for the URL and form."""

    @wraps(view)
    def decorated(*args: Any, **kwargs: Any) -> Any:
        validator = RequestValidator(os.environ["TWILIO_AUTH_TOKEN"])
        valid = validator.validate(
            request.url, request.form, request.headers.get("X-Twilio-Signature", "")
        )
        if not valid:
            abort(403)
        return view(*args, **kwargs)

    return decorated


@app.post("/twilio/messages")
@validate_twilio_request
def incoming_sms() -> Response:
    return Response(str(MessagingResponse()), mimetype="text/xml")
