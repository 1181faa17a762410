"""Authentication: who sent a request, as the API server's authenticators decide it.

- A bearer token (`Authorization: Bearer <token>`) is looked up among the static tokens
  (users the sandbox or a test registered: `add_user`) and the ServiceAccount tokens it
  issued through the TokenRequest API (`POST .../serviceaccounts/<name>/token`, what
  `kubectl create token` calls). A ServiceAccount token is bound to the ServiceAccount's
  uid: once the account is deleted (or recreated) the token no longer authenticates,
  as with the bound tokens of a real cluster.
- A token nobody issued is answered 401 Unauthorized; no token at all is the anonymous
  user (`system:anonymous`, group `system:unauthenticated`), whom RBAC then refuses all
  but the public information (/healthz, /version, ...).
- Every authenticated user is also in `system:authenticated`; a ServiceAccount is
  `system:serviceaccount:<namespace>:<name>` in `system:serviceaccounts` and
  `system:serviceaccounts:<namespace>`.
- Impersonation (`Impersonate-User`, `Impersonate-Group`, `Impersonate-Uid`,
  `Impersonate-Extra-*`, what `kubectl --as/--as-group` sends) is resolved by
  `impersonate`, which asks the authorizer for the `impersonate` verb on users, groups,
  serviceaccounts, uids and userextras, as the real filter does.

Client certificates are not offered: the sandbox serves plain HTTP on the loopback
interface, so a token per identity is how its kubeconfigs authenticate.
"""

from __future__ import annotations

import secrets
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from benchgate_sandbox.errors import ApiError

AUTHENTICATED = "system:authenticated"
UNAUTHENTICATED = "system:unauthenticated"
MASTERS = "system:masters"  # the group RBAC's bootstrap binds to cluster-admin
ANONYMOUS = "system:anonymous"
SERVICE_ACCOUNTS = "system:serviceaccounts"
SA_PREFIX = "system:serviceaccount:"


@dataclass(frozen=True)
class UserInfo:
    """user.Info: what authorization and admission know about the requester."""

    username: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """authentication.k8s.io/v1 UserInfo, as SelfSubjectReview and admission show it."""
        out: dict[str, object] = {"username": self.username, "groups": list(self.groups)}
        if self.uid:
            out["uid"] = self.uid
        if self.extra:
            out["extra"] = {k: list(v) for k, v in self.extra.items()}
        return out


ANONYMOUS_USER = UserInfo(ANONYMOUS, groups=(UNAUTHENTICATED,))
# What the sandbox's own controllers and the test harness's direct store calls act as:
# the API server trusts its own loopback clients (system:masters) in the same way.
SANDBOX_ADMIN = UserInfo("sandbox-admin", "sandbox-admin", (MASTERS, AUTHENTICATED))


def service_account_user(namespace: str, name: str, uid: str = "") -> UserInfo:
    return UserInfo(
        f"{SA_PREFIX}{namespace}:{name}",
        uid,
        (SERVICE_ACCOUNTS, f"{SERVICE_ACCOUNTS}:{namespace}", AUTHENTICATED),
    )


def split_service_account(username: str) -> tuple[str, str] | None:
    """(namespace, name) of a ServiceAccount username, else None."""
    if not username.startswith(SA_PREFIX):
        return None
    namespace, sep, name = username[len(SA_PREFIX) :].partition(":")
    if not sep or not namespace or not name or ":" in name:
        return None
    return namespace, name


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized", None)


@dataclass(frozen=True)
class _BoundToken:
    namespace: str
    name: str
    uid: str  # the ServiceAccount's uid when the token was issued


# (namespace, name) -> the ServiceAccount's current uid, or None when it does not exist.
AccountLookup = Callable[[str, str], "str | None"]


class Authenticator:
    """Static user tokens and bound ServiceAccount tokens. Tokens are registered from the
    test thread and read on the server loop, hence the lock."""

    def __init__(self, accounts: AccountLookup) -> None:
        self._users: dict[str, UserInfo] = {}
        self._bound: dict[str, _BoundToken] = {}
        self._accounts = accounts
        self._lock = threading.Lock()

    def add_user(self, username: str, groups: tuple[str, ...] = (), token: str = "") -> str:
        """Register a user; returns the bearer token that authenticates as them."""
        if not username or username.startswith(SA_PREFIX):
            raise ValueError(
                f"{username!r}: a ServiceAccount authenticates with a token the API issues "
                "(service_account_token), not a static user token"
            )
        token = token or secrets.token_urlsafe(32)
        info = UserInfo(
            username,
            f"user-{uuid.uuid5(uuid.NAMESPACE_OID, username)}",
            _with_authenticated(groups),
        )
        with self._lock:
            self._users[token] = info
        return token

    def issue(self, namespace: str, name: str, uid: str) -> str:
        """A token bound to ServiceAccount `namespace/name` with uid `uid`."""
        token = secrets.token_urlsafe(48)
        with self._lock:
            self._bound[token] = _BoundToken(namespace, name, uid)
        return token

    def authenticate(self, authorization: str | None) -> UserInfo:
        """The requester; 401 for a token nobody issued (or a malformed header)."""
        if not authorization:
            return ANONYMOUS_USER
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise unauthorized()
        found = self.lookup(token)
        if found is None:
            raise unauthorized()
        return found

    def lookup(self, token: str) -> UserInfo | None:
        """TokenReview's answer: the user a token authenticates as, or None."""
        with self._lock:
            user = self._users.get(token)
            bound = self._bound.get(token)
        if user is not None:
            return user
        if bound is None:
            return None
        # A bound token dies with its ServiceAccount (a new one of the same name has a
        # new uid): the real API server checks the same at every request.
        if self._accounts(bound.namespace, bound.name) != bound.uid:
            return None
        return service_account_user(bound.namespace, bound.name, bound.uid)


def _with_authenticated(groups: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys([*groups, AUTHENTICATED]))


# -- impersonation -------------------------------------------------------------------------

IMPERSONATE_USER = "Impersonate-User"
IMPERSONATE_GROUP = "Impersonate-Group"
IMPERSONATE_UID = "Impersonate-Uid"
IMPERSONATE_EXTRA = "Impersonate-Extra-"

# (user, verb, group, resource, namespace, name) -> allowed? (the RBAC authorizer)
Check = Callable[[UserInfo, str, str, str, str, str], bool]


def impersonate(
    requester: UserInfo,
    users: list[str],
    groups: list[str],
    uids: list[str],
    extras: Mapping[str, list[str]],
    allowed: Check,
) -> UserInfo:
    """The user a request acts as, after checking `impersonate` for every attribute
    (k8s.io/apiserver/pkg/endpoints/filters/impersonation.go)."""
    if len(users) != 1:
        raise ApiError(
            400,
            "BadRequest",
            "requested user info is invalid: Impersonate-User must be set exactly once when "
            "impersonating",
            None,
        )
    username = users[0]
    account = split_service_account(username)
    checks: list[tuple[str, str, str, str]] = []  # (group, resource, namespace, name)
    if account is not None:
        checks.append(("", "serviceaccounts", account[0], account[1]))
    else:
        checks.append(("", "users", "", username))
    checks += [("", "groups", "", g) for g in groups]
    checks += [("authentication.k8s.io", "uids", "", u) for u in uids]
    for key, values in extras.items():
        checks += [("authentication.k8s.io", f"userextras/{key}", "", v) for v in values]
    for group, resource, namespace, name in checks:
        plain = resource.partition("/")[0]
        if not allowed(requester, "impersonate", group, resource, namespace, name):
            where = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
            qualified = f"{plain}.{group}" if group else plain
            raise ApiError(
                403,
                "Forbidden",
                f'{qualified} "{name}" is forbidden: User "{requester.username}" cannot '
                f'impersonate resource "{resource}" in API group "{group}"{where}',
                {"name": name, "group": group, "kind": plain},
            )
    if account is not None:
        base = service_account_user(account[0], account[1]).groups
        groups = [*base, *groups]
    elif username != ANONYMOUS:
        groups = [*groups, AUTHENTICATED]
    else:
        groups = [*groups, UNAUTHENTICATED]
    return UserInfo(
        username,
        uids[0] if uids else "",
        tuple(dict.fromkeys(groups)),
        {k: tuple(v) for k, v in extras.items()},
    )
