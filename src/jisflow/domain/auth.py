"""Who may do what: users, roles, scopes, API keys and the principal of a request.

Every user has one role. A role grants a fixed set of scopes (the policy table ``ROLE_SCOPES``);
an API key carries the scopes its holder chose, and a request may use only those scopes that
both the key and the user's role grant. Two roles are bound to a partner: a *supplier* user
sees and changes only the call-offs of its supplier, a *carrier* user only its own trucks.

A key reads ``jf_<key id>_<secret>``. Only a salted scrypt hash of the secret is stored; the
key id finds the stored hash, and the secret is checked against it in constant time.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime

from jisflow.domain.errors import ProblemCollector, ValidationError


class Role(str, enum.Enum):
    PLANNER = "planner"
    WAREHOUSE = "warehouse"
    SUPPLIER = "supplier"
    CARRIER = "carrier"
    AUDITOR = "auditor"
    ADMIN = "admin"


class Scope(str, enum.Enum):
    PLANTS_READ = "plants:read"
    SEQUENCE_READ = "sequence:read"
    SEQUENCE_WRITE = "sequence:write"
    CALLOFFS_READ = "calloffs:read"
    CALLOFFS_WRITE = "calloffs:write"
    ALERTS_READ = "alerts:read"
    ALERTS_WRITE = "alerts:write"
    AUDIT_READ = "audit:read"
    WEBHOOKS_ADMIN = "webhooks:admin"
    INVENTORY_READ = "inventory:read"
    INVENTORY_WRITE = "inventory:write"
    PURCHASING_WRITE = "purchasing:write"
    EXECUTION_READ = "execution:read"
    EXECUTION_WRITE = "execution:write"
    SHIPMENTS_READ = "shipments:read"
    SHIPMENTS_WRITE = "shipments:write"
    RECEIVING_WRITE = "receiving:write"
    DELIVERIES_EXPEDITE = "deliveries:expedite"
    KPIS_READ = "kpis:read"


_ALL = frozenset(Scope)

ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.PLANNER: frozenset({
        Scope.PLANTS_READ, Scope.SEQUENCE_READ, Scope.SEQUENCE_WRITE, Scope.CALLOFFS_READ, Scope.CALLOFFS_WRITE,
        Scope.ALERTS_READ, Scope.ALERTS_WRITE, Scope.INVENTORY_READ, Scope.PURCHASING_WRITE, Scope.EXECUTION_READ,
        Scope.SHIPMENTS_READ, Scope.DELIVERIES_EXPEDITE, Scope.KPIS_READ,
    }),
    Role.WAREHOUSE: frozenset({
        Scope.PLANTS_READ, Scope.SEQUENCE_READ, Scope.CALLOFFS_READ, Scope.CALLOFFS_WRITE, Scope.ALERTS_READ,
        Scope.INVENTORY_READ, Scope.INVENTORY_WRITE, Scope.EXECUTION_READ, Scope.EXECUTION_WRITE, Scope.SHIPMENTS_READ,
        Scope.SHIPMENTS_WRITE, Scope.RECEIVING_WRITE, Scope.DELIVERIES_EXPEDITE, Scope.KPIS_READ,
    }),
    Role.SUPPLIER: frozenset({
        Scope.PLANTS_READ, Scope.CALLOFFS_READ, Scope.CALLOFFS_WRITE, Scope.EXECUTION_READ, Scope.EXECUTION_WRITE, Scope.SHIPMENTS_READ,
    }),
    Role.CARRIER: frozenset({Scope.PLANTS_READ, Scope.SHIPMENTS_READ, Scope.SHIPMENTS_WRITE}),
    Role.AUDITOR: frozenset({
        Scope.PLANTS_READ, Scope.SEQUENCE_READ, Scope.CALLOFFS_READ, Scope.ALERTS_READ, Scope.AUDIT_READ,
        Scope.INVENTORY_READ, Scope.EXECUTION_READ, Scope.SHIPMENTS_READ, Scope.KPIS_READ,
    }),
    Role.ADMIN: _ALL,
}
"""The scopes each role may ever use; a key narrows them further."""

PARTNER_ROLES = {Role.SUPPLIER: "supplier", Role.CARRIER: "carrier"}
"""Roles bound to one partner, and the partner kind they are bound to."""

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    partner: str | None  # the supplier (or carrier) code a partner role is bound to
    created_at: datetime
    active: bool = True


def check_user(name: str, role: Role, partner: str | None) -> None:
    """Refuse a user that cannot exist: a bad name, a partner role without its partner, or a
    partner on a role that has none."""
    found = ProblemCollector()
    if not _NAME.match(name):
        found.add("name", f"{name!r} is not a user name (letters, digits and . _ @ -, at most 64)")
    kind = PARTNER_ROLES.get(role)
    if kind is not None and not partner:
        found.add(kind, f"a {role.value} user is bound to one {kind}: give its code")
    if kind is None and partner:
        found.add("partner", f"a {role.value} user is bound to no partner, yet {partner!r} was given")
    found.raise_if_any(f"user {name!r} cannot be created")


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    user: str
    scopes: frozenset[Scope]
    secret_hash: str
    created_at: datetime
    revoked_at: datetime | None = None


def check_scopes(role: Role, scopes: frozenset[Scope]) -> None:
    """A key may carry only scopes its user's role grants."""
    beyond = sorted(s.value for s in scopes - ROLE_SCOPES[role])
    if beyond:
        raise ValidationError(f"a {role.value} cannot hold the scope(s) {', '.join(beyond)}")


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of one request."""

    name: str
    role: Role
    partner: str | None = None
    scopes: frozenset[Scope] = field(default_factory=frozenset)

    def can(self, scope: Scope) -> bool:
        return scope in self.scopes

    @property
    def supplier(self) -> str | None:
        """The supplier whose objects alone this principal may see; None: any supplier."""
        return self.partner if self.role is Role.SUPPLIER else None

    def owns_supplier_object(self, supplier: str) -> bool:
        return self.supplier is None or self.supplier == supplier

    @property
    def carrier(self) -> str | None:
        """The carrier whose trucks alone this principal may see; None: any carrier."""
        return self.partner if self.role is Role.CARRIER else None

    def owns_shipment(self, supplier: str, carrier: str) -> bool:
        """A shipment belongs to its supplier and to the carrier that drives its lane."""
        return self.owns_supplier_object(supplier) and (self.carrier is None or self.carrier == carrier)


def principal_of(user: User, key: ApiKey) -> Principal:
    return Principal(user.name, user.role, user.partner, key.scopes & ROLE_SCOPES[user.role])


# --------------------------------------------------------------------------- secrets
TOKEN_PREFIX = "jf"
SCRYPT_N = 2**14
"""scrypt's cost: 16 MiB and some tens of milliseconds per check."""


def new_token() -> tuple[str, str, str]:
    """A fresh key: (key id, secret, the token a client sends)."""
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(24)
    return key_id, secret, f"{TOKEN_PREFIX}_{key_id}_{secret}"


def split_token(token: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed token, None for anything else."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def hash_secret(secret: str, *, n: int = SCRYPT_N, r: int = 8, p: int = 1) -> str:
    """``scrypt$n$r$p$salt$hash`` (hex); the parameters travel with the hash."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=n, r=r, p=p, maxmem=256 * 1024 * 1024, dklen=32)
    return f"scrypt${n}${r}${p}${salt.hex()}${digest.hex()}"


def secret_matches(secret: str, stored: str) -> bool:
    """Whether ``secret`` hashes to ``stored`` (compared in constant time)."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        computed = hashlib.scrypt(
            secret.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), maxmem=256 * 1024 * 1024, dklen=32
        )
    except ValueError:
        return False
    return hmac.compare_digest(computed.hex(), digest)
