"""`benchgate operator`: run the kopf controllers against the current cluster."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os


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


class _QuietTimers(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (message.startswith("Timer '") and message.endswith("succeeded."))


def run(args: argparse.Namespace) -> int:
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
