"""`benchgate accept RUN --reason "..."`: make a run that did not pass the baseline, on purpose.

Checks what the operator will check (the run Regressed or was Inconclusive, and its
results can serve as a baseline: domain/acceptance.py), finds out who is asking
(SelfSubjectReview, as `kubectl auth whoami`; else the kubeconfig's user name, and says
so), sets the annotations benchgate.dev/accept-reason, accept-by and
accept-identity-source, and waits for the operator to answer with
benchgate.dev/promoted-to or accept-refused.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from typing import Any, Final

from benchgate.commands.cluster import (
    EXIT_CODES_HELP,
    EXIT_OK,
    EXIT_UNAVAILABLE,
    Cluster,
    add_cluster_flags,
    call,
    connect,
    get_custom,
    run_guarded,
    who_am_i,
)
from benchgate.commands.inputs import InputError

POLL_SECONDS: Final = 1.0

EPILOG = f"""\
examples:
  benchgate accept numerics-1a2b3c4d-5e6f7a8b -n ml-platform \\
      --reason "driver 560 fixes the NCCL hang; 4 % GEMM loss accepted (TICKET-123)"
  kubectl get verificationruns -n ml-platform          find the run (Verdict Regressed)

What happens: the run becomes the RegressionBaseline of its platform (spec.acceptance
records who, when and why), its Verified condition turns True with reason ChangeAccepted,
an Event says so, gating releases the platform's nodes and its exported verdict becomes
Accepted (the Regressed alert resolves). Later runs of the class are compared with it;
slow drift is still measured against the class's anchor.

Refused (exit 3, with the reason): a run that passed (use `benchgate promote`), one that
failed, timed out or was Invalid (nothing usable was measured), and results that cannot
serve as a baseline. Who: the identity the API server reports for your credentials
(SelfSubjectReview) where it offers that, else your kubeconfig's user entry name; it is a
record of what the client said, and the API server's audit log is the proof.

{EXIT_CODES_HELP}.
"""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    parser.add_argument("run", metavar="RUN", help="VerificationRun name")
    parser.add_argument("--reason", required=True, help="why this change is accepted")
    parser.add_argument(
        "--wait", type=float, default=60.0, help="seconds to wait for the operator (0: do not)"
    )
    add_cluster_flags(parser)


def run(args: argparse.Namespace) -> int:
    return run_guarded("accept", lambda: _accept(args))


def _accept(args: argparse.Namespace) -> int:
    from benchgate.api import crd
    from benchgate.domain.acceptance import AcceptRequest, reason_problem

    problem = reason_problem(args.reason)
    if problem is not None:
        raise InputError(f"--reason: {problem}")
    if not (math.isfinite(args.wait) and 0 <= args.wait <= 3600):
        raise InputError(f"--wait must be between 0 and 3600 seconds, got {args.wait}")
    cluster = connect(args)
    name = args.run
    run_obj = get_custom(cluster, crd.RUN_PLURAL, name)
    annotations = (run_obj.get("metadata") or {}).get("annotations") or {}
    accepted = ((run_obj.get("status") or {}).get("acceptance") or {}).get("baseline")
    if accepted:
        print(f"{name} is already accepted as RegressionBaseline {accepted}")
        return EXIT_OK
    if annotations.get(crd.ANNOTATION_PROMOTED_TO):
        raise InputError(
            f"{name} is already RegressionBaseline {annotations[crd.ANNOTATION_PROMOTED_TO]}"
        )
    _check(cluster, name, run_obj)
    user, source = who_am_i(cluster)
    request = AcceptRequest(args.reason, user, source)
    patch: dict[str, Any] = {"metadata": {"annotations": request.annotations()}}
    # A refusal answered to an earlier request is cleared, so this one is looked at.
    patch["metadata"]["annotations"][crd.ANNOTATION_ACCEPT_REFUSED] = None
    call(
        f"VerificationRun {cluster.namespace}/{name}",
        cluster.custom.patch_namespaced_custom_object,
        crd.GROUP,
        crd.VERSION,
        cluster.namespace,
        crd.RUN_PLURAL,
        name,
        patch,
    )
    if source == "SelfSubjectReview":
        who = f"as {user} (who the API server says you are)"
    else:
        who = (
            f"as {user} (the kubeconfig's user name: this API server offers no "
            "SelfSubjectReview, so nothing checked it)"
        )
    if not args.wait:
        print(f"asked the operator to accept {name} {who}")
        return EXIT_OK
    return _await(cluster, name, args.wait, who)


def _check(cluster: Cluster, name: str, run_obj: dict[str, Any]) -> None:
    """Refuse here what the operator would refuse, in the same words."""
    from benchgate.api import crd
    from benchgate.api.result import ResultDocumentError, loads
    from benchgate.api.suite import SuiteSpecError, parse_suite
    from benchgate.domain.acceptance import accept_refusal, verdict_refusal
    from benchgate.domain.verdict import settings_and_overrides

    status = run_obj.get("status") or {}
    verdict = str(status.get("verdict") or "")
    why = verdict_refusal(verdict)
    if why is not None:
        raise InputError(f"{name}: {why}")
    cm_name = str(status.get("resultsConfigMap") or "")
    if not cm_name:
        raise InputError(f"{name}: the run stored no results to accept")
    namespace = cluster.namespace
    cm = call(
        f"ConfigMap {namespace}/{cm_name}",
        cluster.core.read_namespaced_config_map,
        cm_name,
        namespace,
    )
    try:
        document = loads((cm.data or {}).get(crd.RESULT_DATA_KEY) or "")
    except ResultDocumentError as exc:
        raise InputError(f"ConfigMap {namespace}/{cm_name}: {exc.path}: {exc.message}") from exc
    suite_name = str(((run_obj.get("spec") or {}).get("suite") or {}).get("name", ""))
    suite_obj = get_custom(cluster, crd.SUITE_PLURAL, suite_name)
    try:
        suite = parse_suite(suite_obj)
    except SuiteSpecError as exc:
        raise InputError(f"RegressionSuite {namespace}/{suite_name}: {exc}") from exc
    settings, overrides = settings_and_overrides(suite)
    why = accept_refusal(verdict, document, settings, overrides)
    if why is not None:
        raise InputError(f"{name}: {why}")


def _await(cluster: Cluster, name: str, wait: float, who: str) -> int:
    from benchgate.api import crd

    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        obj = get_custom(cluster, crd.RUN_PLURAL, name)
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        acceptance = (obj.get("status") or {}).get("acceptance") or {}
        if acceptance.get("baseline"):
            print(f"accepted {name} {who} as RegressionBaseline {acceptance['baseline']}")
            return EXIT_OK
        if annotations.get(crd.ANNOTATION_ACCEPT_REFUSED):
            raise InputError(
                f"{name}: the operator refused: {annotations[crd.ANNOTATION_ACCEPT_REFUSED]}"
            )
        time.sleep(POLL_SECONDS)
    print(
        f"benchgate accept: asked; the operator has not answered within {wait:g}s (is it running?)",
        file=sys.stderr,
    )
    return EXIT_UNAVAILABLE
