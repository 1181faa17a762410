"""kopf handlers: `kopf run -m benchgate.controllers` (or `benchgate operator`).

Importing this package registers every handler with kopf's default registry.
"""

from __future__ import annotations

from benchgate.controllers import baselines, nodes, runs, settings, suites

__all__ = ["baselines", "nodes", "runs", "settings", "suites"]
