"""Twilio-shaped API errors: ``{code, message, more_info, status}`` with the HTTP status."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web


class ApiError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def response(self) -> web.Response:
        return web.json_response(
            {
                "code": self.code,
                "message": self.message,
                "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
                "status": self.status,
            },
            status=self.status,
        )


def not_found(what: str) -> ApiError:
    return ApiError(404, 20404, f"The requested resource {what} was not found")


@web.middleware
async def api_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Turn ApiError, and aiohttp's own 404 and 405 for routes the sandbox does not serve, into
    Twilio's error document: an SDK reads every error as that JSON."""
    try:
        return await handler(request)
    except ApiError as exc:
        return exc.response()
    except web.HTTPNotFound:
        return not_found(request.path).response()
    except web.HTTPMethodNotAllowed:
        return ApiError(405, 20004, f"Method {request.method} not allowed").response()
