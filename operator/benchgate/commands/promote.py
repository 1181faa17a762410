"""`benchgate promote RUN`: ask the operator to turn a passed run into a baseline.

It checks what the operator will check (the run passed, and its stored results can
serve as a baseline: domain/fitness.py), then sets the annotation
benchgate.dev/promote=true (what `kubectl annotate` would do) and waits for the operator
to answer with benchgate.dev/promoted-to or promote-refused.

Exit codes: 0 promoted (or asked, with --wait 0); 3 refused or invalid input (no such
run, not passed, results unusable as a baseline, the operator refused, a bad
kubeconfig); 4 the API could not be reached or the operator did not answer in time.
Every refusal says why on stderr; none prints a traceback.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from typing import Any, Final

from benchgate.commands.inputs import InputError, refuse

EXIT_UNAVAILABLE: Final = 4


class Unavailable(Exception):
    """The API could not be reached, or failed on its side."""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN", help="VerificationRun name")
    parser.add_argument("--namespace", "-n", default="default", help="its namespace")
    parser.add_argument("--kubeconfig", default=None, help="kubeconfig file (default: usual)")
    parser.add_argument(
        "--wait",
        type=float,
        default=60.0,
        help="seconds to wait for the operator (0 = do not wait)",
    )


def run(args: argparse.Namespace) -> int:
    try:
        return _promote(args)
    except InputError as exc:
        return refuse("promote", exc)
    except Unavailable as exc:
        print(f"benchgate promote: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE


def _clients(kubeconfig: str | None) -> tuple[Any, Any]:
    import kubernetes

    config: Any = kubernetes.config
    try:
        if kubeconfig:
            config.load_kube_config(config_file=kubeconfig)
        else:
            try:
                config.load_kube_config()
            except config.ConfigException:
                config.load_incluster_config()
    except Exception as exc:  # a kubeconfig is input: every way it fails to load is refused
        where = f"--kubeconfig {kubeconfig}" if kubeconfig else "kubeconfig"
        raise InputError(f"{where}: cannot be loaded: {type(exc).__name__}: {exc}") from exc
    return kubernetes.client.CustomObjectsApi(), kubernetes.client.CoreV1Api()


def _call(what: str, fn: Callable[..., Any], *args: Any) -> Any:
    """One API call: 404/401/403 are refusals (exit 3), anything else is unavailability."""
    from kubernetes.client.exceptions import ApiException

    try:
        return fn(*args)
    except ApiException as exc:
        if exc.status == 404:
            raise InputError(f"{what} not found") from exc
        if exc.status in (401, 403):
            raise InputError(f"{what}: not allowed ({exc.status} {exc.reason})") from exc
        raise Unavailable(f"{what}: the API answered {exc.status} {exc.reason}") from exc
    except Exception as exc:  # connection refused, TLS, DNS: the cluster is not reachable
        raise Unavailable(
            f"cannot reach the Kubernetes API for {what}: {type(exc).__name__}: {exc}"
        ) from exc


def _check(custom: Any, core: Any, namespace: str, name: str, run_obj: dict[str, Any]) -> None:
    """Refuse here what the operator would refuse, in the same words."""
    from benchgate.api import crd
    from benchgate.api.result import ResultDocumentError, loads
    from benchgate.api.suite import SuiteSpecError, parse_suite
    from benchgate.domain.fitness import promotion_refusal, verdict_refusal
    from benchgate.domain.verdict import settings_and_overrides

    status = run_obj.get("status") or {}
    verdict = str(status.get("verdict", ""))
    not_passed = verdict_refusal(verdict)
    if not_passed is not None:
        raise InputError(f"{name}: {not_passed}")
    cm_name = str(status.get("resultsConfigMap") or "")
    if not cm_name:
        raise InputError(f"{name}: the run stored no results to promote")
    cm = _call(
        f"ConfigMap {namespace}/{cm_name}", core.read_namespaced_config_map, cm_name, namespace
    )
    try:
        document = loads((cm.data or {}).get(crd.RESULT_DATA_KEY) or "")
    except ResultDocumentError as exc:
        raise InputError(f"ConfigMap {namespace}/{cm_name}: {exc.path}: {exc.message}") from exc
    suite_name = str(((run_obj.get("spec") or {}).get("suite") or {}).get("name", ""))
    suite_obj = _call(
        f"RegressionSuite {namespace}/{suite_name}",
        custom.get_namespaced_custom_object,
        crd.GROUP,
        crd.VERSION,
        namespace,
        crd.SUITE_PLURAL,
        suite_name,
    )
    try:
        suite = parse_suite(suite_obj)
    except SuiteSpecError as exc:
        raise InputError(f"RegressionSuite {namespace}/{suite_name}: {exc}") from exc
    settings, overrides = settings_and_overrides(suite)
    why = promotion_refusal(verdict, document, settings, overrides)
    if why is not None:
        raise InputError(f"{name}: {why}")


def _promote(args: argparse.Namespace) -> int:
    from benchgate.api import crd

    if not (math.isfinite(args.wait) and 0 <= args.wait <= 3600):
        raise InputError(f"--wait must be between 0 and 3600 seconds, got {args.wait}")
    custom, core = _clients(args.kubeconfig)
    namespace, name = args.namespace, args.run
    what = f"VerificationRun {namespace}/{name}"

    def read_run() -> dict[str, Any]:
        obj: dict[str, Any] = _call(
            what,
            custom.get_namespaced_custom_object,
            crd.GROUP,
            crd.VERSION,
            namespace,
            crd.RUN_PLURAL,
            name,
        )
        return obj

    run_obj = read_run()
    annotations = (run_obj.get("metadata") or {}).get("annotations") or {}
    if annotations.get(crd.ANNOTATION_PROMOTED_TO):
        print(f"{name} is already RegressionBaseline {annotations[crd.ANNOTATION_PROMOTED_TO]}")
        return 0
    _check(custom, core, namespace, name, run_obj)
    _call(
        what,
        custom.patch_namespaced_custom_object,
        crd.GROUP,
        crd.VERSION,
        namespace,
        crd.RUN_PLURAL,
        name,
        {"metadata": {"annotations": {crd.ANNOTATION_PROMOTE: "true"}}},
    )
    if not args.wait:
        print(f"asked the operator to promote {name}")
        return 0
    deadline = time.monotonic() + args.wait
    while time.monotonic() < deadline:
        annotations = (read_run().get("metadata") or {}).get("annotations") or {}
        if annotations.get(crd.ANNOTATION_PROMOTED_TO):
            print(
                f"promoted {name} to RegressionBaseline {annotations[crd.ANNOTATION_PROMOTED_TO]}"
            )
            return 0
        if annotations.get(crd.ANNOTATION_PROMOTE_REFUSED):
            raise InputError(
                f"{name}: the operator refused: {annotations[crd.ANNOTATION_PROMOTE_REFUSED]}"
            )
        time.sleep(1)
    print(
        f"benchgate promote: asked; the operator has not answered within {args.wait:g}s "
        "(is it running?)",
        file=sys.stderr,
    )
    return EXIT_UNAVAILABLE
