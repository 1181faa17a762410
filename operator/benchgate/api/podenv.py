"""How Kubernetes composes a container's command line: `$(VAR)` expansion.

One definition for the sandbox kubelet (which runs pods as local processes) and for
`benchgate run` (which runs an any-image workload's command locally), so both expand a
suite's `command`, `args` and `env` exactly as a kubelet does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

_VAR: Final = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


def expand(text: str, env: Mapping[str, str]) -> str:
    """`$(VAR)` becomes VAR's value; `$$` is a literal `$` (so `$$(VAR)` stays
    `$(VAR)`); a reference to an undefined variable is left as written."""

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return env.get(match.group(1), match.group(0))

    return _VAR.sub(one, text)


def container_env(base: Mapping[str, str], items: list[tuple[str, str]]) -> dict[str, str]:
    """`base` plus a container's `env` list in order: each value may refer to the
    variables defined before it (and to `base`)."""
    env = dict(base)
    for name, value in items:
        env[name] = expand(value, env)
    return env
