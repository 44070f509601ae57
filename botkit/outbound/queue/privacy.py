"""What both outbound queues do with a person's data: recognise their jobs, show them in an
export, and keep a dead letter past its retention only as a redacted copy.

A dead letter is kept whole for ``BOTKIT_DEAD_LETTER_RETENTION`` (an operator may replay it, and
needs its number and text to see why it failed). After that only what explains the failure
stays: the reason, Twilio's error, the sender, when, and the recipient masked; the text,
media, template variables and the recipient's number go.
"""

from __future__ import annotations

from typing import Any

from botkit.core.person import Person
from botkit.logging import mask_phone
from botkit.outbound.job import Job

REDACTED = "[redacted]"


def redacted(job: Job) -> Job:
    """The copy of a dead letter kept past its retention."""
    message = job.message.model_copy(
        update={
            "to": mask_phone(job.message.to),
            "body": REDACTED,
            "media_urls": (),
            "content_variables": None,
            "attributes": None,
            "idempotency_key": f"redacted:{job.id}",
        }
    )
    return job.model_copy(update={"message": message})


def is_redacted(job: Job) -> bool:
    return job.message.idempotency_key == f"redacted:{job.id}"


def addressed_to(job: Job, person: Person) -> bool:
    """Whether ``job`` goes to ``person`` (by pseudonym; by address for jobs queued before
    jobs carried one)."""
    return job.recipient == person.digest or person.is_address(job.message.to)


def job_row(job: Job, state: dict[str, str]) -> dict[str, Any]:
    """A job as a person's export shows it: the message, and where it stands."""
    return {"id": job.id, **state, "message": job.message.model_dump(mode="json")}
