"""Who is calling: a bearer token (API) or the console's session cookie, checked against a permission.

Every route depends on :func:`require`; nothing is readable without a valid token.
"""

from __future__ import annotations

from typing import Callable

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hygeia.errors import PermissionDenied
from hygeia.governance.accounts import Accounts, User

COOKIE = "hygeia_token"
bearer = HTTPBearer(auto_error=False, description="An API token from `hygeia users add NAME --role ROLE`.")


def token_of(request: Request, credentials: HTTPAuthorizationCredentials | None) -> str | None:
    if credentials is not None:
        return credentials.credentials
    return request.cookies.get(COOKIE)


def current_user(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> User:
    return Accounts(request.app.state.store).authenticate(token_of(request, credentials))


def check_permission(user: User, permission: str) -> User:
    """``user`` when their role grants ``permission``; otherwise :class:`PermissionDenied` (HTTP 403)."""
    if not user.can(permission):
        raise PermissionDenied(f"role {user.role!r} may not do this (needs {permission}); ask an admin")
    return user


def require(permission: str) -> Callable[..., User]:
    """A dependency that admits only users whose role grants ``permission``."""

    def check(user: User = Depends(current_user)) -> User:
        return check_permission(user, permission)

    return check
