"""Users, roles and API tokens: only a token's hash is kept; revoked tokens and disabled users are refused."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hygeia.errors import AuthError, HygeiaError
from hygeia.governance.accounts import PERMISSIONS, ROLES, Accounts, token_sha256
from hygeia.store import Store
from hygeia.store.db import tokens_table


@pytest.fixture
def accounts(store_url) -> Accounts:
    return Accounts(Store(store_url))


def test_a_token_authenticates_its_user_and_only_its_hash_is_stored(accounts):
    token = accounts.add_user("dr.lee", "reviewer")
    user = accounts.authenticate(token)
    assert (user.name, user.role) == ("dr.lee", "reviewer")
    with accounts.store.engine.connect() as conn:
        stored = conn.execute(select(tokens_table)).all()
    assert [row.token_sha256 for row in stored] == [token_sha256(token)]
    assert all(token not in str(tuple(row)) for row in stored)
    assert stored[0].last_used_at is not None


@pytest.mark.parametrize("bad", [None, "", "hyg_not-a-token"])
def test_missing_or_unknown_tokens_are_refused(accounts, bad):
    accounts.add_user("dr.lee", "reviewer")
    with pytest.raises(AuthError):
        accounts.authenticate(bad)


def test_revoking_a_token_or_disabling_a_user_locks_them_out(accounts):
    first = accounts.add_user("ann", "steward")
    second = accounts.issue_token("ann", label="EHR integration")
    accounts.revoke_token(next(t.id for t in accounts.tokens("ann") if t.label == "first token"))
    with pytest.raises(AuthError, match="revoked"):
        accounts.authenticate(first)
    assert accounts.authenticate(second).name == "ann"
    accounts.set_disabled("ann")
    with pytest.raises(AuthError, match="disabled"):
        accounts.authenticate(second)
    accounts.set_disabled("ann", False)
    assert accounts.authenticate(second).name == "ann"


def test_bad_names_roles_and_duplicates_are_refused(accounts):
    accounts.add_user("ann", "steward")
    with pytest.raises(HygeiaError, match="already exists"):
        accounts.add_user("ann", "reviewer")
    with pytest.raises(HygeiaError, match="unknown role 'superuser'"):
        accounts.add_user("bob", "superuser")
    with pytest.raises(HygeiaError, match="not allowed"):
        accounts.add_user("../etc", "steward")


def test_roles_follow_least_privilege():
    assert set(ROLES) == {"steward", "reviewer", "researcher", "auditor", "admin"}
    assert PERMISSIONS["researcher"] == {"releases:read"}
    assert "source:read" not in PERMISSIONS["auditor"] | PERMISSIONS["researcher"] | PERMISSIONS["admin"]
    assert "reviews:write" in PERMISSIONS["reviewer"] and "reviews:write" not in PERMISSIONS["steward"]
    assert PERMISSIONS["admin"] == {"users:manage"}
