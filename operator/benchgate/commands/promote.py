"""`benchgate promote RUN`: ask the operator to turn a passed run into a baseline.

It sets the annotation benchgate.dev/promote=true (what `kubectl annotate` would do) and
waits for the operator to answer with benchgate.dev/promoted-to or promote-refused.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any


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
    import kubernetes
    from kubernetes.client.exceptions import ApiException

    from benchgate.api import crd

    config: Any = kubernetes.config
    if args.kubeconfig:
        config.load_kube_config(config_file=args.kubeconfig)
    else:
        try:
            config.load_kube_config()
        except config.ConfigException:
            config.load_incluster_config()
    custom: Any = kubernetes.client.CustomObjectsApi()
    try:
        run_obj = custom.get_namespaced_custom_object(
            crd.GROUP, crd.VERSION, args.namespace, crd.RUN_PLURAL, args.run
        )
    except ApiException as exc:
        print(
            f"benchgate promote: cannot read VerificationRun {args.namespace}/{args.run}: "
            f"{exc.status} {exc.reason}",
            file=sys.stderr,
        )
        return 2
    verdict = (run_obj.get("status") or {}).get("verdict", "")
    if verdict not in ("Passed", "Improved", "NoBaseline"):
        print(
            f"benchgate promote: {args.run} is {verdict or 'not finished'}; only a run that "
            "passed can become a baseline",
            file=sys.stderr,
        )
        return 1
    custom.patch_namespaced_custom_object(
        crd.GROUP,
        crd.VERSION,
        args.namespace,
        crd.RUN_PLURAL,
        args.run,
        {"metadata": {"annotations": {crd.ANNOTATION_PROMOTE: "true"}}},
    )
    deadline = time.monotonic() + args.wait
    while time.monotonic() < deadline:
        annotations = (
            custom.get_namespaced_custom_object(
                crd.GROUP, crd.VERSION, args.namespace, crd.RUN_PLURAL, args.run
            )
            .get("metadata", {})
            .get("annotations")
            or {}
        )
        if annotations.get(crd.ANNOTATION_PROMOTED_TO):
            print(
                f"promoted {args.run} to RegressionBaseline "
                f"{annotations[crd.ANNOTATION_PROMOTED_TO]}"
            )
            return 0
        if annotations.get(crd.ANNOTATION_PROMOTE_REFUSED):
            print(
                f"benchgate promote: refused: {annotations[crd.ANNOTATION_PROMOTE_REFUSED]}",
                file=sys.stderr,
            )
            return 1
        time.sleep(1)
    if args.wait:
        print(
            f"benchgate promote: asked; the operator has not answered within {args.wait:g}s "
            "(is it running?)",
            file=sys.stderr,
        )
        return 3
    print(f"asked the operator to promote {args.run}")
    return 0
