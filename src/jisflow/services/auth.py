"""Accounts: creating users and API keys, and authenticating the caller of a request.

The services take a unit of work that has an ``accounts`` repository (the SQL one has); each
change they make is written to the audit log in the same transaction.
"""

from __future__ import annotations

import abc
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from jisflow.domain.auth import (
    ROLE_SCOPES, ApiKey, Principal, Role, Scope, User, check_scopes, check_user, hash_secret, new_token,
    principal_of, secret_matches, split_token, SCRYPT_N,
)
from jisflow.domain.errors import ConflictError, NotFound
from jisflow.services.audit import AuditEntry
from jisflow.services.clock import Clock
from jisflow.services.unit_of_work import AbstractUnitOfWork


class AccountRepository(abc.ABC):
    @abc.abstractmethod
    def add_user(self, user: User) -> None:
        """ConflictError when the name is taken."""

    @abc.abstractmethod
    def user(self, name: str) -> User:
        """NotFound for an unknown name."""

    @abc.abstractmethod
    def users(self) -> list[User]: ...

    @abc.abstractmethod
    def add_key(self, key: ApiKey) -> None: ...

    @abc.abstractmethod
    def key(self, key_id: str) -> ApiKey | None: ...

    @abc.abstractmethod
    def keys_of(self, user: str) -> list[ApiKey]: ...

    @abc.abstractmethod
    def revoke_key(self, key_id: str, at: datetime) -> None: ...


class Unauthenticated(Exception):
    """No valid credentials: the token is missing, malformed, unknown, revoked or wrong."""


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    token: str  # shown once; only its hash is kept


def create_user(uow: AbstractUnitOfWork, clock: Clock, name: str, role: Role, partner: str | None = None) -> User:
    check_user(name, role, partner)
    now = clock.now()
    user = User(name, role, partner, now)
    with uow:
        try:
            uow.accounts.user(name)
        except NotFound:
            pass
        else:
            raise ConflictError(f"a user named {name!r} exists already")
        uow.accounts.add_user(user)
        uow.audit.append([AuditEntry(uow.actor, now, "user.created", f"user/{name}", None, {"role": role.value, "partner": partner})])
        uow.commit()
    return user


def issue_key(
    uow: AbstractUnitOfWork, clock: Clock, user_name: str, scopes: Iterable[Scope] | None = None, *, cost: int = SCRYPT_N,
) -> IssuedKey:
    """A new API key for a user, with the given scopes (default: every scope of its role)."""
    now = clock.now()
    with uow:
        user = uow.accounts.user(user_name)
        chosen = frozenset(scopes) if scopes is not None else ROLE_SCOPES[user.role]
        check_scopes(user.role, chosen)
        key_id, secret, token = new_token()
        key = ApiKey(key_id, user.name, chosen, hash_secret(secret, n=cost), now)
        uow.accounts.add_key(key)
        uow.audit.append([AuditEntry(uow.actor, now, "key.issued", f"user/{user.name}/key/{key_id}", None, {"scopes": sorted(s.value for s in chosen)})])
        uow.commit()
    return IssuedKey(key, token)


def revoke_key(uow: AbstractUnitOfWork, clock: Clock, key_id: str) -> None:
    now = clock.now()
    with uow:
        key = uow.accounts.key(key_id)
        if key is None:
            raise NotFound(f"no API key {key_id!r}")
        if key.revoked_at is None:
            uow.accounts.revoke_key(key_id, now)
            uow.audit.append([AuditEntry(uow.actor, now, "key.revoked", f"user/{key.user}/key/{key_id}", {"revoked": False}, {"revoked": True})])
        uow.commit()


_VERIFIED: dict[str, tuple[str, bytes]] = {}
"""Key id -> (its stored hash, SHA-256 of the secret that matched it). scrypt runs once per
key and process, not once per request; the key and its user are still read (revocation,
deactivation) on every request, and a changed stored hash is checked afresh."""
_VERIFIED_MAX = 10_000


def _secret_matches(key_id: str, secret: str, stored: str) -> bool:
    digest = hashlib.sha256(secret.encode()).digest()
    known = _VERIFIED.get(key_id)
    if known is not None and known[0] == stored and hmac.compare_digest(known[1], digest):
        return True
    if not secret_matches(secret, stored):
        return False
    if len(_VERIFIED) >= _VERIFIED_MAX:
        _VERIFIED.clear()
    _VERIFIED[key_id] = (stored, digest)
    return True


def authenticate(uow: AbstractUnitOfWork, token: str) -> Principal:
    """The principal a token stands for; Unauthenticated otherwise (never says which part failed)."""
    parts = split_token(token)
    if parts is None:
        raise Unauthenticated("malformed token")
    key_id, secret = parts
    with uow:
        key = uow.accounts.key(key_id)
        user = uow.accounts.user(key.user) if key is not None else None
    if key is None or user is None or key.revoked_at is not None or not user.active or not _secret_matches(key_id, secret, key.secret_hash):
        raise Unauthenticated("unknown, revoked or wrong token")
    return principal_of(user, key)
