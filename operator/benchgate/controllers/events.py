"""Posting Kubernetes Events through kopf (its poster batches and retries them)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import kopf


def post(obj: Mapping[str, Any], reason: str, message: str, *, warning: bool = False) -> None:
    """One Event on `obj` (a dict as the API returns it: apiVersion, kind, metadata)."""
    body = cast(kopf.Body, obj)  # kopf reads only the object reference fields
    if warning:
        kopf.warn(body, reason=reason, message=message[:1024])
    else:
        kopf.info(body, reason=reason, message=message[:1024])
