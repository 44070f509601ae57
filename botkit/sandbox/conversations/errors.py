"""Conversations errors with Twilio's codes, in one place so a wrong guess is fixed once.

Codes come from Twilio's error dictionary (twilio.com/docs/api/errors/<code>). Where the
dictionary names the code but not the HTTP status Conversations answers with, or where the code
is Programmable Chat's and Conversations is assumed to reuse it, the entry says UNCONFIRMED.
"""

from __future__ import annotations

from botkit.sandbox.errors import ApiError, not_found

#: Twilio's generic "invalid parameter" for the sandbox's own input checks (UNCONFIRMED: the
#: specific Conversations code for each malformed field is not documented).
INVALID_PARAMETER = 20001


def conversation_not_found(sid: str) -> ApiError:
    return not_found(f"/Conversations/{sid}")


def resource_not_found(conversation_sid: str, kind: str, sid: str) -> ApiError:
    return not_found(f"/Conversations/{conversation_sid}/{kind}/{sid}")


def invalid(message: str) -> ApiError:
    return ApiError(400, INVALID_PARAMETER, message)


def binding_in_use(conversation_sid: str) -> ApiError:
    """50416, 409; the wording is what Twilio's helper libraries show for it."""
    return ApiError(
        409,
        50416,
        "A binding for this participant and proxy address already exists in Conversation "
        f"{conversation_sid}",
    )


def identity_exists(identity: str) -> ApiError:
    """50433 "Participant already exists"; 409 is UNCONFIRMED."""
    return ApiError(409, 50433, f"Participant with identity '{identity}' already exists")


def non_chat_limit(limit: int) -> ApiError:
    """50418 "Non-Chat participants limit exceeded"; 400 is UNCONFIRMED."""
    return ApiError(
        400,
        50418,
        f"Non-Chat participants limit exceeded: a conversation can have at most {limit} "
        "SMS/WhatsApp participants",
    )


def group_limit(limit: int) -> ApiError:
    """50436 "Participant limit exceeded for group conversation"; 400 is UNCONFIRMED."""
    return ApiError(
        400,
        50436,
        f"Participant limit exceeded for group conversation: group MMS allows {limit}",
    )


def attributes_too_long(what: str, limit: int) -> ApiError:
    """50303 is Programmable Chat's "Attributes too long"; its use here is UNCONFIRMED."""
    return ApiError(
        400,
        50303,
        f"Attributes too long: {what} Attributes are limited to {limit // 1024} KB "
        f"({limit} bytes of UTF-8)",
    )


def attributes_not_json(what: str) -> ApiError:
    """50304 is Programmable Chat's "Attributes not valid JSON"; its use here is UNCONFIRMED."""
    return ApiError(400, 50304, f"Attributes not valid JSON: {what} Attributes must be JSON")


def unique_name_exists(name: str) -> ApiError:
    """50353 "Conversation with provided unique name already exists"; 409 is UNCONFIRMED."""
    return ApiError(409, 50353, f"Conversation with provided unique name already exists: {name}")


def unique_name_like_sid(name: str) -> ApiError:
    """50390 "Unique name should not match conversation sid pattern"."""
    return ApiError(400, 50390, f"Unique name should not match conversation sid pattern: {name}")


def conversation_closed(sid: str) -> ApiError:
    """50377 "Can't update conversation as it's in final closed state"; 400 is UNCONFIRMED."""
    return ApiError(
        400, 50377, f"Can't update conversation {sid} as it's in final closed state"
    )


def body_missing() -> ApiError:
    """50503 "Message body not provided" (Body, MediaSid or ContentSid)."""
    return ApiError(400, 50503, "Message body not provided: give Body, MediaSid or ContentSid")


def body_too_long(limit: int) -> ApiError:
    """50504 "Message body parameter is too long"."""
    return ApiError(400, 50504, f"Message body parameter is too long (limit {limit} bytes)")


def webhook_target_missing() -> ApiError:
    """50368 "Conversation webhook type not provided"."""
    return ApiError(400, 50368, "Conversation webhook target parameter is required")


def webhook_target_invalid(target: str) -> ApiError:
    """50364 "Invalid conversation webhook type"."""
    return ApiError(
        400, 50364, f"Invalid conversation webhook target {target!r}: webhook, trigger or studio"
    )


def webhook_filter_invalid(name: str) -> ApiError:
    """50365 "Invalid conversation webhook filter"."""
    return ApiError(400, 50365, f"Invalid conversation webhook filter: {name}")


def rejected_by_webhook(event: str, status: int) -> ApiError:
    """What the REST call gets when a pre-event webhook rejects the action (UNCONFIRMED: code
    and status are the sandbox's choice; Twilio's dictionary has no entry for it)."""
    return ApiError(
        400,
        INVALID_PARAMETER,
        f"The {event} pre-event webhook rejected the action (it answered HTTP {status})",
    )
