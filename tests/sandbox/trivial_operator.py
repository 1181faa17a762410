"""A trivial kopf operator used to prove that kopf runs unmodified against the sandbox."""

from __future__ import annotations

from typing import Any

import kopf


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    settings.watching.server_timeout = 30
    settings.posting.level = 20  # INFO: kopf.info() events are posted


@kopf.on.login()
def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
    # The kubernetes client library (kopf's default login) captures $KUBECONFIG when it
    # is first imported, which in a test session is before the sandbox exists; kopf's
    # own kubeconfig login reads the variable when called.
    return kopf.login_with_kubeconfig(**kwargs)


@kopf.on.create("example.com", "v1", "widgets")
def greet(name: str, body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
    patch.status["message"] = f"hello {name}"
    kopf.info(body, reason="Greeted", message=f"said hello to {name}")


@kopf.on.delete("example.com", "v1", "widgets")
def farewell(name: str, **_: Any) -> None:
    """Having a delete handler makes kopf add (and later remove) its finalizer."""
