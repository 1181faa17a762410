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


def not_found(qualified: str, name: str) -> ApiError:
    group = qualified.partition(".")[2]
    plural = qualified.partition(".")[0]
    return ApiError(
        404,
        "NotFound",
        f'{qualified} "{name}" not found',
        {"name": name, "group": group, "kind": plural},
    )


def already_exists(qualified: str, name: str) -> ApiError:
    group = qualified.partition(".")[2]
    plural = qualified.partition(".")[0]
    return ApiError(
        409,
        "AlreadyExists",
        f'{qualified} "{name}" already exists',
        {"name": name, "group": group, "kind": plural},
    )


def conflict(qualified: str, name: str, why: str) -> ApiError:
    group = qualified.partition(".")[2]
    plural = qualified.partition(".")[0]
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {qualified} "{name}": {why}',
        {"name": name, "group": group, "kind": plural},
    )


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


STALE = (
    "the object has been modified; please apply your changes to the latest version and try again"
)
