"""People and their API tokens: who may do what in the service.

Each user has one role. A token is shown once, when issued; only its SHA-256 is stored (tokens are 256 random
bits, so a fast hash is enough: there is nothing to brute-force, unlike a password).

>>> accounts = Accounts(Store("sqlite:///:memory:"))
>>> token = accounts.add_user("dr.lee", "reviewer")
>>> accounts.authenticate(token).role
'reviewer'
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select, update

from hygeia.errors import AuthError, HygeiaError, NotFoundError
from hygeia.store.db import Store, now_iso, tokens_table, users_table

#: What each role may do. Least privilege: an admin manages people, not data; a researcher sees only releases.
PERMISSIONS: dict[str, frozenset[str]] = {
    "steward": frozenset({"datasets:write", "datasets:read", "jobs:write", "jobs:read", "artifacts:read",
                          "source:read", "releases:write", "releases:read"}),
    "reviewer": frozenset({"artifacts:read", "source:read", "reviews:write", "jobs:read"}),
    "researcher": frozenset({"releases:read"}),
    "auditor": frozenset({"ledger:read", "artifacts:read"}),
    "admin": frozenset({"users:manage"}),
}
ROLES = tuple(PERMISSIONS)
TOKEN_PREFIX = "hyg_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$")


@dataclass(frozen=True)
class User:
    name: str
    role: str
    created_at: str
    disabled: bool = False

    def can(self, permission: str) -> bool:
        return not self.disabled and permission in PERMISSIONS.get(self.role, frozenset())


@dataclass(frozen=True)
class TokenInfo:
    id: str
    user_name: str
    label: str
    created_at: str
    last_used_at: str | None
    revoked: bool


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Accounts:
    """Users, roles and tokens in the store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def add_user(self, name: str, role: str, *, label: str = "first token") -> str:
        """Create a user with ``role`` and return their first token (shown once, never stored)."""
        if not _NAME.match(name or ""):
            raise HygeiaError(f"user name {name!r} is not allowed; use letters, digits and . _ @ - (up to 128)")
        if role not in ROLES:
            raise HygeiaError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
        with self.store.begin() as conn:
            if conn.execute(select(users_table.c.name).where(users_table.c.name == name)).first():
                raise HygeiaError(f"user {name!r} already exists; issue another token with "
                                  f"`hygeia users token {name}`")
            conn.execute(users_table.insert().values(name=name, role=role, created_at=now_iso(), disabled=False))
        return self.issue_token(name, label=label)

    def issue_token(self, name: str, *, label: str = "") -> str:
        self.get_user(name)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.store.begin() as conn:
            conn.execute(tokens_table.insert().values(
                id=secrets.token_hex(6), user_name=name, token_sha256=token_sha256(token), label=label,
                created_at=now_iso(), revoked=False))
        return token

    def get_user(self, name: str) -> User:
        with self.store.engine.connect() as conn:
            row = conn.execute(select(users_table).where(users_table.c.name == name)).first()
        if row is None:
            raise NotFoundError(f"no user {name!r}; `hygeia users list` shows them")
        return User(name=row.name, role=row.role, created_at=row.created_at, disabled=bool(row.disabled))

    def users(self) -> list[User]:
        with self.store.engine.connect() as conn:
            rows = conn.execute(select(users_table).order_by(users_table.c.name)).all()
        return [User(name=r.name, role=r.role, created_at=r.created_at, disabled=bool(r.disabled)) for r in rows]

    def tokens(self, name: str | None = None) -> list[TokenInfo]:
        query = select(tokens_table).order_by(tokens_table.c.created_at, tokens_table.c.id)
        if name:
            query = query.where(tokens_table.c.user_name == name)
        with self.store.engine.connect() as conn:
            return [TokenInfo(id=r.id, user_name=r.user_name, label=r.label, created_at=r.created_at,
                              last_used_at=r.last_used_at, revoked=bool(r.revoked)) for r in conn.execute(query)]

    def set_disabled(self, name: str, disabled: bool = True) -> None:
        self.get_user(name)
        with self.store.begin() as conn:
            conn.execute(update(users_table).where(users_table.c.name == name).values(disabled=disabled))

    def revoke_token(self, token_id: str) -> None:
        with self.store.begin() as conn:
            result = conn.execute(update(tokens_table).where(tokens_table.c.id == token_id).values(revoked=True))
        if result.rowcount == 0:
            raise NotFoundError(f"no token {token_id!r}; `hygeia users tokens` lists them")

    def authenticate(self, token: str | None) -> User:
        """The user a token belongs to; :class:`AuthError` for a missing, unknown, revoked or disabled one."""
        if not token:
            raise AuthError("no API token given; send `Authorization: Bearer <token>`")
        with self.store.engine.connect() as conn:
            row = conn.execute(
                select(tokens_table.c.id, tokens_table.c.revoked, tokens_table.c.last_used_at, users_table)
                .join(users_table, users_table.c.name == tokens_table.c.user_name)
                .where(tokens_table.c.token_sha256 == token_sha256(token))).first()
        if row is None or row.revoked:
            raise AuthError("the API token is unknown or revoked; ask an admin for a new one")
        if row.disabled:
            raise AuthError(f"user {row.name!r} is disabled; ask an admin")
        stamp = now_iso()
        if (row.last_used_at or "")[:16] != stamp[:16]:  # at most one write a minute per token
            with self.store.engine.begin() as conn:
                conn.execute(update(tokens_table).where(tokens_table.c.id == row.id).values(last_used_at=stamp))
        return User(name=row.name, role=row.role, created_at=row.created_at, disabled=False)
