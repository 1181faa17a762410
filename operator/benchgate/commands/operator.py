"""`benchgate operator`: run the kopf controllers against the current cluster."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys


def configure(parser: argparse.ArgumentParser) -> None:
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument(
        "--namespace",
        "-n",
        action="append",
        default=[],
        help="watch this namespace (repeatable; default: all namespaces)",
    )
    scope.add_argument(
        "--all-namespaces", "-A", action="store_true", help="watch every namespace (the default)"
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=8080,
        help="Prometheus /metrics port (0 = off; default 8080)",
    )
    parser.add_argument(
        "--liveness",
        default="http://0.0.0.0:8081/healthz",
        help="kopf liveness endpoint URL ('' = off)",
    )
    parser.add_argument(
        "--peering", default="", help="kopf peering name for several replicas (default: standalone)"
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="debug logging")
    policy = parser.add_argument_group(
        "cluster policy",
        "what a RegressionSuite may make the operator do (docs/security.md); the chart sets "
        "these from its values",
    )
    policy.add_argument(
        "--operator-namespace",
        default=os.environ.get("POD_NAMESPACE", ""),
        help="the operator's own namespace (default: $POD_NAMESPACE)",
    )
    policy.add_argument(
        "--gating-namespace",
        action="append",
        default=[],
        metavar="NS",
        help="a namespace whose suites may gate (taint) nodes; repeatable; '*' for all "
        "(default: the operator's own namespace only)",
    )
    policy.add_argument(
        "--privileged-namespace",
        action="append",
        default=[],
        metavar="NS",
        help="a namespace whose suites may ask for pods beyond Pod Security 'restricted' "
        "(privileged, capabilities, privilege escalation, root); repeatable; '*' for all",
    )
    policy.add_argument(
        "--service-account-namespace",
        action="append",
        default=[],
        metavar="NS",
        help="a namespace whose suites may choose their pods' ServiceAccount; repeatable",
    )
    policy.add_argument(
        "--allowed-image",
        action="append",
        default=[],
        metavar="REF",
        help="an allowed verification image: a repository (ghcr.io/org/image), a prefix "
        "(ghcr.io/org/*) or repository@sha256:...; repeatable (default: any image)",
    )
    policy.add_argument(
        "--require-image-digest",
        action="store_true",
        help="refuse images not pinned by digest (@sha256:...)",
    )


class _QuietTimers(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (message.startswith("Timer '") and message.endswith("succeeded."))


def _policy_environment(args: argparse.Namespace) -> dict[str, str]:
    """The cluster policy as the controllers read it (benchgate.domain.policy)."""
    return {
        "BENCHGATE_OPERATOR_NAMESPACE": args.operator_namespace,
        "BENCHGATE_GATING_NAMESPACES": ",".join(args.gating_namespace),
        "BENCHGATE_PRIVILEGED_NAMESPACES": ",".join(args.privileged_namespace),
        "BENCHGATE_SERVICE_ACCOUNT_NAMESPACES": ",".join(args.service_account_namespace),
        "BENCHGATE_ALLOWED_IMAGES": ",".join(args.allowed_image),
        "BENCHGATE_REQUIRE_IMAGE_DIGEST": "true" if args.require_image_digest else "",
    }


def run(args: argparse.Namespace) -> int:
    from benchgate.domain import policy

    settings = _policy_environment(args)
    try:
        policy.from_environment(settings)  # refuse a bad setting before anything starts
    except policy.PolicyError as exc:
        print(f"benchgate operator: {exc}", file=sys.stderr)
        return 2
    os.environ.update(settings)

    import kopf  # imported here: other subcommands must not pay for kopf

    os.environ["BENCHGATE_METRICS_PORT"] = str(args.metrics_port)
    if args.peering:
        os.environ["BENCHGATE_PEERING"] = args.peering
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        # A timer per object succeeds every few seconds: keep that out of the log.
        logging.getLogger("kopf.objects").addFilter(_QuietTimers())
    import benchgate.controllers  # noqa: F401  (registers the handlers)

    namespaces = list(args.namespace)
    asyncio.run(
        kopf.operator(
            clusterwide=not namespaces,
            namespaces=namespaces,
            standalone=not args.peering,
            peering_name=args.peering or None,
            liveness_endpoint=args.liveness or None,
        )
    )
    return 0
