"""What the cluster commands share: kubectl's flags, one way to reach the API, one set of
exit codes.

`benchgate status`, `verify`, `accept`, `report RUN` and `history` talk to a cluster as
kubectl does: the kubeconfig (`--kubeconfig`, else $KUBECONFIG, else ~/.kube/config, else
the in-cluster service account), its current context or `--context`, and the context's
namespace unless `-n` says otherwise. The `kubernetes` client is imported only when a
command runs (it reads $KUBECONFIG at import, and `benchgate compare` never needs it).

Exit codes, the same for every command (and `compare` / `promote`):
  0  done / all is well
  1  the thing is not OK (a platform regressed or failed; a verification did not pass)
  2  undecided (Inconclusive)
  3  invalid input or a refusal: a bad flag, no such object, a request the operator
     refuses (the message says why)
  4  the API could not be reached, or the operator did not answer in time
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from benchgate.commands.inputs import EXIT_INVALID_INPUT, InputError

EXIT_OK: Final = 0
EXIT_NOT_OK: Final = 1
EXIT_UNDECIDED: Final = 2
EXIT_INVALID: Final = EXIT_INVALID_INPUT
EXIT_UNAVAILABLE: Final = 4
EXIT_CODES_HELP: Final = (
    "exit codes: 0 ok; 1 not ok (regressed or failed); 2 inconclusive; 3 invalid input, "
    "not found or refused; 4 API unreachable or no answer from the operator"
)


class Unavailable(Exception):
    """The API could not be reached, or failed on its side."""


def add_cluster_flags(parser: argparse.ArgumentParser, *, all_namespaces: bool = False) -> None:
    parser.add_argument(
        "-n",
        "--namespace",
        default=None,
        help="namespace (default: the kubeconfig context's, else 'default')",
    )
    if all_namespaces:
        parser.add_argument("-A", "--all-namespaces", action="store_true", help="every namespace")
    parser.add_argument("--kubeconfig", default=None, help="kubeconfig file (default: as kubectl)")
    parser.add_argument("--context", default=None, help="kubeconfig context (default: current)")


def add_output_flag(parser: argparse.ArgumentParser, *choices: str) -> None:
    parser.add_argument(
        "-o",
        "--output",
        choices=choices,
        default=choices[0],
        help=f"output format ({', '.join(choices)}; default {choices[0]})",
    )


@dataclass
class Cluster:
    """Clients for one kubeconfig context, and what the context says about the user."""

    custom: Any
    core: Any
    api_client: Any
    namespace: str  # -n, else the context's namespace, else "default"
    user: str  # the context's user entry name ("" in-cluster)


def connect(args: argparse.Namespace) -> Cluster:
    """Load the kubeconfig as kubectl would; every way it fails is a refusal (exit 3)."""
    import kubernetes

    config: Any = kubernetes.config
    kubeconfig = getattr(args, "kubeconfig", None)
    context = getattr(args, "context", None)
    namespace, user = "", ""
    try:
        try:
            contexts, active = config.list_kube_config_contexts(config_file=kubeconfig)
            chosen = next((c for c in contexts if c.get("name") == context), None)
            if context and chosen is None:
                names = ", ".join(sorted(str(c.get("name")) for c in contexts))
                raise InputError(f"--context {context}: no such context (contexts: {names})")
            entry = (chosen or active or {}).get("context") or {}
            namespace, user = str(entry.get("namespace") or ""), str(entry.get("user") or "")
            api_client = config.new_client_from_config(config_file=kubeconfig, context=context)
        except config.ConfigException:
            if kubeconfig or context:
                raise
            config.load_incluster_config()
            api_client = kubernetes.client.ApiClient()
    except InputError:
        raise
    except Exception as exc:  # a kubeconfig is input: every way it fails to load is refused
        where = f"--kubeconfig {kubeconfig}" if kubeconfig else "kubeconfig"
        raise InputError(f"{where}: cannot be loaded: {type(exc).__name__}: {exc}") from exc
    return Cluster(
        custom=kubernetes.client.CustomObjectsApi(api_client),
        core=kubernetes.client.CoreV1Api(api_client),
        api_client=api_client,
        namespace=str(getattr(args, "namespace", None) or namespace or "default"),
        user=user,
    )


def call(what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """One API call: 404 is "not found" and 401/403 "not allowed" (exit 3); anything
    else is unavailability (exit 4). Never a traceback."""
    from kubernetes.client.exceptions import ApiException

    try:
        return fn(*args, **kwargs)
    except ApiException as exc:
        if exc.status == 404:
            raise InputError(f"{what} not found") from exc
        if exc.status in (401, 403):
            raise InputError(
                f"{what}: not allowed ({exc.status} {exc.reason}); docs/operations.md lists "
                "the RBAC each command needs"
            ) from exc
        raise Unavailable(f"{what}: the API answered {exc.status} {exc.reason}") from exc
    except Exception as exc:  # connection refused, TLS, DNS: the cluster is not reachable
        raise Unavailable(
            f"cannot reach the Kubernetes API for {what}: {type(exc).__name__}: {exc}"
        ) from exc


def run_guarded(command: str, body: Callable[[], int]) -> int:
    """Run a command's body; every refusal and unavailability ends in one line on stderr
    and its exit code."""
    try:
        return body()
    except InputError as exc:
        print(f"benchgate {command}: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except Unavailable as exc:
        print(f"benchgate {command}: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE


def who_am_i(cluster: Cluster) -> tuple[str, str]:
    """(user name, where it came from): what the API server says the client is
    (SelfSubjectReview, as `kubectl auth whoami`), else the kubeconfig's user entry name,
    which the API server never checked."""
    import kubernetes
    from kubernetes.client.exceptions import ApiException

    auth: Any = kubernetes.client.AuthenticationV1Api(cluster.api_client)
    try:
        review = auth.create_self_subject_review(
            {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
        )
        info = getattr(getattr(review, "status", None), "user_info", None)
        name = str(getattr(info, "username", "") or "")
    except ApiException:  # 404: an API server (or the sandbox) without the review API
        name = ""
    except Exception:  # unreachable: the command's next call says so, with the reason
        name = ""
    if name:
        return name, "SelfSubjectReview"
    return (cluster.user or "unknown"), "Kubeconfig"


def get_custom(cluster: Cluster, plural: str, name: str, namespace: str | None = None) -> Any:
    from benchgate.api import crd

    ns = namespace or cluster.namespace
    kind = {
        crd.SUITE_PLURAL: crd.SUITE_KIND,
        crd.RUN_PLURAL: crd.RUN_KIND,
        crd.BASELINE_PLURAL: crd.BASELINE_KIND,
    }[plural]
    return call(
        f"{kind} {ns}/{name}",
        cluster.custom.get_namespaced_custom_object,
        crd.GROUP,
        crd.VERSION,
        ns,
        plural,
        name,
    )


def list_custom(
    cluster: Cluster, plural: str, namespace: str | None, selector: str = ""
) -> list[dict[str, Any]]:
    """Objects of a benchgate kind in `namespace` (None: every namespace)."""
    from benchgate.api import crd

    if namespace is None:
        answer = call(
            f"{plural} in every namespace",
            cluster.custom.list_cluster_custom_object,
            crd.GROUP,
            crd.VERSION,
            plural,
            label_selector=selector,
        )
    else:
        answer = call(
            f"{plural} in namespace {namespace}",
            cluster.custom.list_namespaced_custom_object,
            crd.GROUP,
            crd.VERSION,
            namespace,
            plural,
            label_selector=selector,
        )
    return list(answer.get("items") or [])


def read_document(cluster: Cluster, configmap: str, namespace: str | None = None) -> Any:
    """The result document a ConfigMap holds (a run's results, a baseline's samples)."""
    from benchgate.api import crd
    from benchgate.api.result import ResultDocumentError, loads

    ns = namespace or cluster.namespace
    cm = call(f"ConfigMap {ns}/{configmap}", cluster.core.read_namespaced_config_map, configmap, ns)
    try:
        return loads((cm.data or {}).get(crd.RESULT_DATA_KEY) or "")
    except ResultDocumentError as exc:
        raise InputError(f"ConfigMap {ns}/{configmap}: {exc.path}: {exc.message}") from exc
