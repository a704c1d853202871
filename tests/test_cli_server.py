"""`hygeia users` and `hygeia serve --help`: people, roles and tokens from the command line."""

from __future__ import annotations

from hygeia.governance.accounts import Accounts
from hygeia.store import Store


def test_users_add_prints_a_working_token_once_and_list_never_shows_it(hygeia_env, run, store_url):
    code, out, err = run("users", "add", "alice", "--role", "admin")
    assert code == 0 and "not shown again" in err
    token = out.strip().splitlines()[-1]
    assert Accounts(Store(store_url)).authenticate(token).role == "admin"
    code, out, _ = run("users", "list")
    assert code == 0 and "alice" in out and "admin" in out and token not in out


def test_disable_and_revoke_lock_a_user_out(hygeia_env, run, store_url):
    run("users", "add", "bob", "--role", "steward")
    code, out, _ = run("users", "token", "bob", "--label", "EHR")
    second = out.strip()
    accounts = Accounts(Store(store_url))
    token_id = next(t.id for t in accounts.tokens("bob") if t.label == "EHR")
    assert run("users", "revoke", token_id)[0] == 0
    assert run("users", "disable", "bob")[0] == 0
    assert accounts.get_user("bob").disabled
    assert run("users", "disable", "bob", "--enable")[0] == 0
    assert not accounts.get_user("bob").disabled
    assert [t.revoked for t in accounts.tokens("bob") if t.label == "EHR"] == [True] and second


def test_bad_roles_and_unknown_users_are_one_line_errors(hygeia_env, run):
    code, _, err = run("users", "add", "carol", "--role", "superuser")
    assert code == 2 and err.startswith("error: unknown role 'superuser'") and "Traceback" not in err
    code, _, err = run("users", "token", "nobody")
    assert code == 2 and "no user 'nobody'" in err
    code, _, err = run("users", "revoke", "nope")
    assert code == 2 and "no token" in err


def test_serve_help_teaches(run):
    code, out, _ = run("serve", "--help")
    assert code == 0 and "/api/openapi.json" in out and "--job-workers" in out
