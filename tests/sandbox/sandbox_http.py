"""Plain HTTPS to the sandbox, for what the typed client hides (the `raw` fixture)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import requests


class Raw:
    """Plain HTTP(S) against the sandbox, for what the typed client hides: as the sandbox's
    cluster admin unless another token is given (None: anonymous)."""

    def __init__(self, base: str, ca: Path, token: str | None) -> None:
        self.base = base
        self.ca = str(ca)  # per request: REQUESTS_CA_BUNDLE would beat a session's verify
        self.session = requests.Session()
        if token is not None:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, path: str, **kw: Any) -> requests.Response:
        kw.setdefault("timeout", 10)
        kw.setdefault("verify", self.ca)
        return self.session.request(method, self.base + path, **kw)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any, **kw: Any) -> requests.Response:
        return self.request("POST", path, json=body, **kw)

    def put(self, path: str, body: Any, **kw: Any) -> requests.Response:
        return self.request("PUT", path, json=body, **kw)

    def patch(
        self, path: str, body: Any, content_type: str = "application/merge-patch+json", **kw: Any
    ) -> requests.Response:
        return self.request(
            "PATCH", path, data=json.dumps(body), headers={"Content-Type": content_type}, **kw
        )

    def delete(self, path: str, body: Any = None, **kw: Any) -> requests.Response:
        return self.request("DELETE", path, json=body, **kw)

    def watch(
        self, path: str, params: dict[str, str], max_events: int = 100, timeout: float = 10
    ) -> list[dict[str, Any]]:
        """Read a watch stream until it ends (timeoutSeconds) or max_events arrived."""
        events = []
        with self.session.get(
            self.base + path,
            params={"watch": "true", **params},
            stream=True,
            timeout=timeout,
            verify=self.ca,
        ) as response:
            assert response.status_code == 200, response.text
            for line in response.iter_lines():
                if line:
                    events.append(json.loads(line))
                    if len(events) >= max_events:
                        break
        return events
