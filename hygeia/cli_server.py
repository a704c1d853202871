"""The service commands of `hygeia`: `serve` and `users`. Imported by :mod:`hygeia.cli`, which owns the app."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from hygeia.cli import app, err, out

users_app = typer.Typer(no_args_is_help=True, help="People who may use the service, their roles and API tokens.\n\n"
                        "hygeia users add alice --role admin      first user: prints her token once\n\n"
                        "Roles: steward (upload, run jobs, release), reviewer (review), researcher (download "
                        "releases), auditor (read the ledger), admin (users and tokens).")
app.add_typer(users_app, name="users")


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on (loopback by default; put a TLS proxy "
                                      "in front before exposing it).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port.")] = 8700,
    job_workers: Annotated[int, typer.Option("--job-workers", min=0, help="Background threads running jobs "
                                             "(0: queue only, another server runs them).")] = 1,
    log_level: Annotated[str, typer.Option("--log-level", help="uvicorn log level.")] = "info",
) -> None:
    """Run the REST API (/api/v1, OpenAPI at /api/openapi.json) and the web review console (/).

    Uses the same store as the CLI (HYGEIA_DATABASE_URL, or SQLite under HYGEIA_HOME); the schema is migrated
    on start. Jobs survive a restart: an interrupted one is run again or marked failed, never lost.

    Example: hygeia users add alice --role admin; hygeia serve --port 8700; open http://127.0.0.1:8700/
    """
    import uvicorn

    from hygeia.server import create_app

    application = create_app(run_jobs=job_workers > 0, job_workers=max(job_workers, 1))
    err.print(f"Hygeia console on http://{host}:{port}/  ·  API http://{host}:{port}/api/v1  ·  Ctrl+C stops")
    uvicorn.run(application, host=host, port=port, log_level=log_level)


def _accounts():
    from hygeia.governance.accounts import Accounts
    from hygeia.store import Store

    return Accounts(Store())


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="User name, e.g. dr.lee")],
    role: Annotated[str, typer.Option("--role", help="steward, reviewer, researcher, auditor or admin")],
) -> None:
    """Create a user and print their first API token (shown only now; only its hash is stored)."""
    token = _accounts().add_user(name, role)
    err.print(f"user {name} ({role}) created; their token (keep it secret, it is not shown again):")
    out.print(token, markup=False, highlight=False)


@users_app.command("token")
def users_token(
    name: Annotated[str, typer.Argument(help="User name.")],
    label: Annotated[str, typer.Option("--label", help="What the token is for, e.g. 'EHR integration'.")] = "",
) -> None:
    """Issue another token for a user (printed once)."""
    out.print(_accounts().issue_token(name, label=label), markup=False, highlight=False)


@users_app.command("list")
def users_list() -> None:
    """Users, roles and their tokens (never the token values)."""
    accounts = _accounts()
    table = Table(title="Users")
    for col in ("name", "role", "created", "status", "tokens"):
        table.add_column(col)
    for user in accounts.users():
        tokens = accounts.tokens(user.name)
        live = [t.id for t in tokens if not t.revoked]
        table.add_row(user.name, user.role, user.created_at, "disabled" if user.disabled else "active",
                      ", ".join(live) or "none")
    out.print(table)


@users_app.command("disable")
def users_disable(name: Annotated[str, typer.Argument(help="User name.")],
                  enable: Annotated[bool, typer.Option("--enable", help="Re-enable instead.")] = False) -> None:
    """Disable a user (every token stops working at once), or re-enable them."""
    _accounts().set_disabled(name, not enable)
    out.print(f"user {name} {'enabled' if enable else 'disabled'}")


@users_app.command("revoke")
def users_revoke(token_id: Annotated[str, typer.Argument(help="Token id from `hygeia users list`.")]) -> None:
    """Revoke one token."""
    _accounts().revoke_token(token_id)
    out.print(f"token {token_id} revoked")
