"""`benchgate verify SUITE`: verify a suite's platforms now (trigger `Manual`).

Sets the suite's annotation benchgate.dev/verify to "<token> [platform=P | node=N]" (what
`kubectl annotate` would do) and waits for the operator to answer in the suite's
status.manualRequest: the runs it made (named after the token, so a retried or repeated
request with the same --token never makes a second run), that it waits for a platform's
running verification first, or why it refused.
"""

from __future__ import annotations

import argparse
import math
import secrets
import sys
import time
from collections.abc import Mapping
from typing import Any, Final

from benchgate.commands.cluster import (
    EXIT_CODES_HELP,
    EXIT_NOT_OK,
    EXIT_OK,
    EXIT_UNAVAILABLE,
    EXIT_UNDECIDED,
    Cluster,
    add_cluster_flags,
    call,
    connect,
    get_custom,
    run_guarded,
)
from benchgate.commands.inputs import InputError

DEFAULT_TIMEOUT: Final = 60.0
DEFAULT_WAIT_TIMEOUT: Final = 3600.0
POLL_SECONDS: Final = 1.0

EPILOG = f"""\
examples:
  benchgate verify numerics -n ml-platform                     every platform of the suite
  benchgate verify numerics --platform h100-80gb-560           one platform (class or key prefix)
  benchgate verify numerics --node gpu-node-17 --wait          one node; wait for the verdict
  benchgate verify numerics --token ci-4711                    retry-safe: same token, same run

the same with kubectl:
  kubectl annotate rsuite numerics benchgate.dev/verify="$(date +%s) platform=h100-80gb-560" \\
    --overwrite

A platform with a verification in progress is verified after it finishes. The request
ignores the settle window (you asked now).

{EXIT_CODES_HELP}; without --wait, 0 once the operator took the request.
"""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    parser.add_argument("suite", metavar="SUITE", help="RegressionSuite name")
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--platform", default="", help="platform class (e.g. h100-80gb-560) or key prefix"
    )
    where.add_argument("--node", default="", help="a node in the suite's scope")
    parser.add_argument(
        "--token",
        default="",
        help="request token (default: a new one); the runs are named after it, so the same "
        "token never makes a second run",
    )
    parser.add_argument(
        "--wait", action="store_true", help="wait for the verdicts and exit by them"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help=f"seconds to wait (default {DEFAULT_TIMEOUT:g} for the operator's answer, "
        f"{DEFAULT_WAIT_TIMEOUT:g} with --wait)",
    )
    add_cluster_flags(parser)


def run(args: argparse.Namespace) -> int:
    return run_guarded("verify", lambda: _verify(args))


def _verify(args: argparse.Namespace) -> int:
    from benchgate.api import crd
    from benchgate.domain.manual import VerifyRequest, VerifyRequestError, parse_request

    timeout = (
        args.timeout
        if args.timeout is not None
        else (DEFAULT_WAIT_TIMEOUT if args.wait else DEFAULT_TIMEOUT)
    )
    if not (math.isfinite(timeout) and 0 < timeout <= 7 * 86400):
        raise InputError(f"--timeout must be between 0 and 604800 seconds, got {timeout}")
    token = args.token or f"v{int(time.time())}-{secrets.token_hex(3)}"
    try:
        request = parse_request(
            VerifyRequest(token, platform=args.platform, node=args.node).annotation()
        )
    except VerifyRequestError as exc:
        raise InputError(f"--token/--platform/--node: {exc}") from exc
    cluster = connect(args)
    suite = get_custom(cluster, crd.SUITE_PLURAL, args.suite)
    _check_selector(suite, request)
    namespace = cluster.namespace
    call(
        f"RegressionSuite {namespace}/{args.suite}",
        cluster.custom.patch_namespaced_custom_object,
        crd.GROUP,
        crd.VERSION,
        namespace,
        crd.SUITE_PLURAL,
        args.suite,
        {"metadata": {"annotations": {crd.ANNOTATION_VERIFY: request.annotation()}}},
    )
    deadline = time.monotonic() + timeout
    answer = _await_answer(cluster, args.suite, request.token, deadline)
    if answer is None:
        print(
            f"benchgate verify: asked (token {request.token}); the operator has not answered "
            f"within {timeout:g}s (is it running?)",
            file=sys.stderr,
        )
        return EXIT_UNAVAILABLE
    state = str(answer.get("state") or "")
    if state == "Refused":
        raise InputError(f"the operator refused: {answer.get('message')}")
    for name in answer.get("runs") or []:
        print(f"verificationrun.{crd.GROUP}/{name} created (Manual, token {request.token})")
    if state == "Waiting":
        print(f"queued: {answer.get('message')}")
    if not args.wait:
        return EXIT_OK
    return _await_verdicts(cluster, args.suite, request.token, deadline)


def _check_selector(suite: Mapping[str, Any], request: Any) -> None:
    """Refuse here what the operator would refuse, with the platforms that exist."""
    from benchgate.domain.manual import platform_matches

    status = suite.get("status") or {}
    ready: Mapping[str, Any] = next(
        (c for c in status.get("conditions") or [] if c.get("type") == "Ready"), {}
    )
    if ready.get("reason") == "InvalidSpec":
        # The operator verifies nothing of a suite it refuses; it would never answer.
        raise InputError(f"the suite's spec is invalid, fix it first: {ready.get('message')}")
    # Rows without nodes are history (a platform whose key changed): nothing to verify.
    rows = [r for r in status.get("platforms") or [] if r.get("key") and r.get("nodes")]
    if not rows:
        return  # the operator has not seen the suite's nodes yet: it will decide
    if request.platform and not any(
        platform_matches(request.platform, str(r["key"]), str(r.get("class") or "")) for r in rows
    ):
        known = ", ".join(f"{r.get('class')} ({str(r['key'])[:8]})" for r in rows)
        raise InputError(f"--platform {request.platform}: no such platform; platforms: {known}")
    if request.node and not any(request.node in (r.get("nodes") or []) for r in rows):
        nodes = sorted({n for r in rows for n in r.get("nodes") or []})
        raise InputError(
            f"--node {request.node}: not in the suite's scope; nodes: {', '.join(nodes[:20])}"
        )


def _await_answer(
    cluster: Cluster, suite: str, token: str, deadline: float
) -> Mapping[str, Any] | None:
    from benchgate.api import crd

    while True:
        obj = get_custom(cluster, crd.SUITE_PLURAL, suite)
        answer = (obj.get("status") or {}).get("manualRequest") or {}
        if answer.get("token") == token and answer.get("state"):
            return dict(answer)
        if time.monotonic() > deadline:
            return None
        time.sleep(POLL_SECONDS)


def _await_verdicts(cluster: Cluster, suite: str, token: str, deadline: float) -> int:
    """Wait until every run of the request has finished; exit by the worst verdict."""
    from benchgate.api import crd
    from benchgate.domain.status import BAD_VERDICTS, FINISHED_VERDICTS

    reported: set[str] = set()
    verdicts: dict[str, str] = {}
    while True:
        obj = get_custom(cluster, crd.SUITE_PLURAL, suite)
        answer = (obj.get("status") or {}).get("manualRequest") or {}
        names = [str(n) for n in answer.get("runs") or []] if answer.get("token") == token else []
        for name in names:
            if name in reported:
                continue
            run_status = get_custom(cluster, crd.RUN_PLURAL, name).get("status") or {}
            verdict = str(run_status.get("verdict") or "Pending")
            if verdict in FINISHED_VERDICTS:
                reported.add(name)
                verdicts[name] = verdict
                worst = run_status.get("worstMetric") or ""
                change = run_status.get("worstChange") or ""
                print(
                    f"{name}: {verdict} {worst} {change}".rstrip()
                    + f" — {run_status.get('message', '')}"
                )
        if names and reported >= set(names) and answer.get("state") == "Handled":
            break
        if time.monotonic() > deadline:
            print(
                "benchgate verify: the verification has not finished in time; "
                f"benchgate status {suite} shows where it is",
                file=sys.stderr,
            )
            return EXIT_UNAVAILABLE
        time.sleep(POLL_SECONDS)
    if any(v in BAD_VERDICTS for v in verdicts.values()):
        return EXIT_NOT_OK
    if any(v == "Inconclusive" for v in verdicts.values()):
        return EXIT_UNDECIDED
    return EXIT_OK
