"""API errors carried as exceptions and rendered as the real API's `Status` object."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error the API server answers with: HTTP code, CamelCase reason, message."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    def to_status(self) -> dict[str, Any]:
        status: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            status["details"] = self.details
        return status


def _about(code: int, reason: str, message: str, qualified: str, name: str) -> ApiError:
    """An error about one object; `details` names it as the API server does."""
    plural, _, group = qualified.partition(".")
    return ApiError(code, reason, message, {"name": name, "group": group, "kind": plural})


def not_found(qualified: str, name: str) -> ApiError:
    return _about(404, "NotFound", f'{qualified} "{name}" not found', qualified, name)


def already_exists(qualified: str, name: str) -> ApiError:
    return _about(409, "AlreadyExists", f'{qualified} "{name}" already exists', qualified, name)


def conflict(qualified: str, name: str, why: str) -> ApiError:
    message = f'Operation cannot be fulfilled on {qualified} "{name}": {why}'
    return _about(409, "Conflict", message, qualified, name)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


STALE = (
    "the object has been modified; please apply your changes to the latest version and try again"
)
