"""The web review console: server-rendered pages over the governance modules the API and the CLI use.

Pages: ``/login``, ``/`` (review queue), ``/artifacts/{id}`` (verdict, scorecard, plots, the text review and
the decision form), ``/ledger`` and ``/dashboard``. A session is the user's own API token in an HttpOnly,
SameSite=Strict cookie; each page checks the permission its API route checks, and every POST carries a
CSRF token derived from the session token. No build step and nothing loaded from the network: Jinja2
templates, one CSS file and one small script for the keyboard shortcuts.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Callable, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from hygeia.errors import AuthError, HygeiaError, PermissionDenied, ReviewError
from hygeia.governance.accounts import Accounts, User
from hygeia.governance.artifact import STATUSES
from hygeia.governance.ledger import Ledger
from hygeia.governance.review import ReviewQueue
from hygeia.server import dashboard, problems
from hygeia.server.auth import COOKIE, check_permission
from hygeia.store.db import ArtifactRecord, Store

STATIC = Path(__file__).with_name("static")
TEMPLATES = Path(__file__).with_name("templates")
LOGIN_CSRF = "hygeia_login_csrf"
KINDS = ("synthetic_table", "clinical_text", "fhir_cohort")
LEDGER_PAGE = 50
_LOCAL_PATH = re.compile(r"/(?![/\\])[^\s\\]*")
#: The pages may load only this server's own styles, script and images (the API's figure route).
CSP = ("default-src 'none'; img-src 'self'; style-src 'self'; script-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
#: Header links: (permission, href, label); a user sees only the pages their role may open.
NAV = (("artifacts:read", "/", "Review queue"), ("artifacts:read", "/dashboard", "Dashboard"),
       ("ledger:read", "/ledger", "Ledger"))
FIGURE_ALT = {
    "correlation_difference": "Heat map of real minus synthetic correlations between columns",
    "dcr_histogram": "Histogram of each synthetic row's distance to its closest real record, train vs holdout",
    "subgroups": "Per-subgroup bars: share of rows, fidelity and utility, real vs synthetic",
    "sentence_support": "Support score of each drafted sentence against the source note",
}

templates = Jinja2Templates(env=Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True,
                                            undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True))


def static_files() -> StaticFiles:
    return StaticFiles(directory=STATIC)


# -- sessions, permissions, CSRF -----------------------------------------------------------------------
@dataclass(frozen=True)
class Session:
    user: User
    token: str

    @property
    def csrf(self) -> str:
        return csrf_token(self.token)


def csrf_token(session_token: str) -> str:
    """An HMAC keyed by the session token: only a page served to this session can carry it (the cookie is
    HttpOnly), and it needs no server-side state, so any worker process can check it."""
    return hmac.new(session_token.encode(), b"hygeia-console-csrf", hashlib.sha256).hexdigest()


def session_of(request: Request) -> Session:
    """The logged-in user; :class:`AuthError` (hence the login page) without a valid session cookie."""
    token = request.cookies.get(COOKIE) or ""
    return Session(Accounts(request.app.state.store).authenticate(token), token)


def allowed(permission: str) -> Callable[..., Session]:
    """A dependency admitting sessions whose role grants ``permission`` (the API's rule, on a page)."""

    def check(request: Request) -> Session:
        session = session_of(request)
        check_permission(session.user, permission)
        return session

    return check


def posted(permission: str) -> Callable[..., Session]:
    """Like :func:`allowed`, for a form POST: the form must also carry this session's CSRF token."""

    def check(csrf: str = Form(""), session: Session = Depends(allowed(permission))) -> Session:
        return checked(session, csrf)

    return check


def checked(session: Session, csrf: str) -> Session:
    if not hmac.compare_digest(csrf.encode(), session.csrf.encode()):
        raise PermissionDenied("the form did not come from this console session (CSRF check failed); "
                               "reload the page and try again")
    return session


class ConsoleRoute(APIRoute):
    """Console routes answer with pages, never problem JSON: no session sends the browser to the login page,
    any other Hygeia error becomes an error page with the status the API would give."""

    def get_route_handler(self) -> Callable[[Request], Any]:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            try:
                response = await handler(request)
            except AuthError:
                # Back to the same page after logging in (a form's target would answer a GET with 405).
                here = f"{request.url.path}?{request.url.query}" if request.url.query else request.url.path
                back = _local(here) if request.method == "GET" else "/"
                response = RedirectResponse(f"/login?next={quote(back, safe='/')}", status_code=303)
                if COOKIE in request.cookies:  # a revoked token or disabled user: drop the dead session
                    response.delete_cookie(COOKIE, path="/")
            except HygeiaError as exc:
                response = error_page(request, problems.status_of(exc)[0], str(exc))
            except RequestValidationError as exc:
                first = exc.errors()[0] if exc.errors() else {}
                where = ".".join(str(p) for p in first.get("loc", ())[1:]) or "request"
                response = error_page(request, 422, f"{where}: {first.get('msg', 'invalid')}")
            response.headers.setdefault("Content-Security-Policy", CSP)
            return response

        return page


router = APIRouter(include_in_schema=False, route_class=ConsoleRoute)


def store_of(request: Request) -> Store:
    return request.app.state.store


def render(request: Request, name: str, session: Session | None, *, status: int = 200, **context: Any) -> HTMLResponse:
    nav = [(href, label) for perm, href, label in NAV if session and session.user.can(perm)]
    return templates.TemplateResponse(request, name, {
        "session": session, "csrf": session.csrf if session else "", "nav": nav, "path": request.url.path,
        **context}, status_code=status)


def error_page(request: Request, status: int, detail: str) -> HTMLResponse:
    try:
        session: Session | None = session_of(request)
    except HygeiaError:
        session = None
    return render(request, "error.html", session, status=status, status_code=status,
                  title=problems.TITLES.get(status, "Error"), detail=detail)


def _local(path: str) -> str:
    """Only a path on this site may follow a login (no open redirect to another host). Browsers drop tabs and
    line breaks from URLs and read a backslash as a slash, so ``/\t/evil.example`` is refused too."""
    return path if _LOCAL_PATH.fullmatch(path) else "/"


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


# -- login ---------------------------------------------------------------------------------------------
@router.get("/login")
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return _login_page(request, next, error=None)


def _login_page(request: Request, next_path: str, *, error: str | None, status: int = 200) -> HTMLResponse:
    # Double-submit nonce: a login form posted from another site cannot know it (login CSRF).
    nonce = secrets.token_urlsafe(24)
    response = render(request, "login.html", None, status=status, next=_local(next_path), nonce=nonce, error=error)
    response.set_cookie(LOGIN_CSRF, nonce, httponly=True, samesite="strict", secure=_secure(request), path="/login")
    return response


@router.post("/login")
def login(request: Request, token: str = Form(..., max_length=512), next: str = Form("/"),
          csrf: str = Form("")) -> Response:
    expected = request.cookies.get(LOGIN_CSRF, "")
    if not expected or not hmac.compare_digest(csrf.encode(), expected.encode()):
        return _login_page(request, next, error="The login form expired or came from another site; try again.",
                           status=403)
    try:
        Accounts(store_of(request)).authenticate(token.strip())
    except AuthError as exc:
        return _login_page(request, next, error=str(exc), status=401)
    response = RedirectResponse(_local(next), status_code=303)
    response.set_cookie(COOKIE, token.strip(), httponly=True, samesite="strict", secure=_secure(request), path="/")
    response.delete_cookie(LOGIN_CSRF, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, csrf: str = Form("")) -> Response:
    checked(session_of(request), csrf)  # any role may log out: no permission, but the CSRF token must match
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


# -- the review queue ----------------------------------------------------------------------------------
@router.get("/")
def queue(request: Request, kind: str = "", status: str = "candidate", days: str = "", q: str = "",
          session: Session = Depends(allowed("artifacts:read"))) -> HTMLResponse:
    now = datetime.now(UTC)
    since = now - timedelta(days=int(days)) if days.isdigit() else None
    items = [a for a in store_of(request).list_artifacts(status if status in STATUSES else None)
             if (not kind or a.kind == kind) and (since is None or datetime.fromisoformat(a.created_at) >= since)
             and (not q or q.casefold() in f"{a.id} {a.record.get('title', '')}".casefold())]
    rows = [{"id": a.id, "kind": a.kind, "title": a.record.get("title") or a.id, "status": a.status,
             "gate_passed": a.gate_passed, "created_at": a.created_at, "age": _age(a.created_at, now)}
            for a in reversed(items)]
    return render(request, "queue.html", session, rows=rows, kinds=KINDS, statuses=STATUSES,
                  filters={"kind": kind, "status": status if status in STATUSES else "", "days": days, "q": q})


def _age(created_at: str, now: datetime) -> str:
    seconds = max(0.0, (now - datetime.fromisoformat(created_at)).total_seconds())
    if seconds < 3600:
        return f"{max(1, int(seconds // 60))} min"
    return f"{int(seconds // 3600)} h" if seconds < 86400 else f"{int(seconds // 86400)} d"


# -- one artifact ----------------------------------------------------------------------------------------
@router.get("/artifacts/{artifact_id}")
def artifact_page(artifact_id: str, request: Request, decided: bool = False,
                  session: Session = Depends(allowed("artifacts:read"))) -> HTMLResponse:
    return _artifact_response(request, session, artifact_id, decided=decided)


@router.post("/artifacts/{artifact_id}/decide")
def decide(artifact_id: str, request: Request, decision: Literal["approve", "reject", "edit"] = Form(...),
           comment: str = Form("", max_length=10_000), text: str | None = Form(None, max_length=200_000),
           usefulness: int | None = Form(None, ge=1, le=5), trust: int | None = Form(None, ge=1, le=5),
           session: Session = Depends(posted("reviews:write"))) -> Response:
    store, user = store_of(request), session.user
    artifact = store.get_artifact(artifact_id)
    ratings = {"usefulness": usefulness, "trust": trust}
    try:
        if decision == "edit":
            from hygeia.governance.clinical_text import edit_draft

            # Browsers send a textarea's line breaks as CRLF; the draft's are LF, and the diff must show edits only.
            edited = (text or "").replace("\r\n", "\n")
            edit_draft(store, artifact.id, edited, reviewer=user.name, role=user.role, comment=comment, **ratings)
        else:
            ReviewQueue(store).decide(artifact.id, decision, reviewer=user.name, role=user.role, comment=comment,
                                      **ratings)
    except ReviewError as exc:
        form = {"decision": decision, "comment": comment, "text": text, **ratings}
        return _artifact_response(request, session, artifact.id, error=str(exc), form=form, status=409)
    return RedirectResponse(f"/artifacts/{quote(artifact.id)}?decided=true", status_code=303)


def _artifact_response(request: Request, session: Session, artifact_id: str, *, decided: bool = False,
                       error: str | None = None, form: dict[str, Any] | None = None, status: int = 200) -> HTMLResponse:
    store = store_of(request)
    artifact, reviews = ReviewQueue(store).show(artifact_id)
    rec = artifact.record
    is_text = artifact.kind == "clinical_text"
    text = _text_review(artifact) if is_text and session.user.can("source:read") else None
    can_decide = session.user.can("reviews:write") and artifact.status == "candidate"
    return render(request, "artifact.html", session, status=status, artifact=artifact, rec=rec,
                  title=rec.get("title") or artifact.id, verdict=rec.get("verdict") or {}, metrics=_metrics(rec),
                  figures=_figures(artifact), reviews=list(reversed(reviews)), text=text, is_text=is_text,
                  can_decide=can_decide, error=error, form=form or {"text": text["draft"] if text else ""},
                  outcome=_outcome(store, artifact, reviews) if decided and reviews else None)


def _metrics(rec: dict[str, Any]) -> list[dict[str, Any]]:
    """Scorecard rows as the reviewer reads them: a gate outcome in words, never colour alone."""
    rows = []
    for m in rec.get("scorecard", {}).get("metrics", []):
        if m.get("passed") is None:
            gate = "not gated" if m.get("applicable", True) else "not applicable"
        else:
            gate = "PASS" if m["passed"] else "FAIL"
        threshold = m.get("threshold")
        sign = ">=" if m.get("goal") == "maximize" else "<="
        rows.append({"name": m["name"], "family": m["name"].split(".", 1)[0], "gate": gate,
                     "value": "not computed" if m.get("value") is None else _number(m["value"]),
                     "reason": (m.get("detail") or {}).get("reason", "") if m.get("value") is None else "",
                     "threshold": "—" if threshold is None else f"{sign} {_number(threshold)}",
                     "description": m.get("description", "")})
    return rows


def _number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int) or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 0.001 or abs(value) >= 1000 else f"{value:.3f}"


def _figures(artifact: ArtifactRecord) -> list[dict[str, str]]:
    """The report's plots (served by the API's figure route), the summary plots before the per-column ones."""
    names = sorted(p.stem for p in (Path(artifact.location) / "figures").glob("*.png"))
    names.sort(key=lambda n: n.startswith("dist_"))
    return [{"name": n, "src": f"/api/v1/artifacts/{quote(artifact.id)}/figures/{quote(n)}.png",
             "alt": _figure_alt(n), "column": n.startswith("dist_")} for n in names]


def _figure_alt(name: str) -> str:
    if name.startswith("dist_"):
        return f"Distribution of column {name.split('_', 2)[-1]}, real vs synthetic"
    return FIGURE_ALT.get(name, name.replace("_", " ").capitalize())


def _outcome(store: Store, artifact: ArtifactRecord, reviews: list[Any]) -> dict[str, Any]:
    """What the last decision did; for an edit, the gate's verdict on the edited text (from the ledger)."""
    last = reviews[-1]
    edit_gate = None
    if last.decision == "edit":
        entries = [e for e in Ledger(store).entries(artifact.id) if e.event == "review"]
        edit_gate = entries[-1].content["payload"].get("edit_gate") if entries else None
    return {"review": last, "status": artifact.status, "edit_gate": edit_gate}


def _text_review(artifact: ArtifactRecord) -> dict[str, Any]:
    """Source and draft cut into segments so each drafted sentence and its evidence in the source can be marked.

    Surrogate positions are not stored with a candidate (only the sealed map back to the originals), so the
    identifiers in the source are not marked; every one of them is a surrogate.
    """
    from hygeia.governance.clinical_text import text_view

    view = text_view(artifact)
    sentences = []
    for number, s in enumerate(view["grounding"].get("sentences", []), start=1):
        label = "supported" if s["supported"] else "critical" if s["critical"] else "unsupported"
        sentences.append({"number": number, "text": s["text"], "start": s["start"], "end": s["end"], "label": label,
                          "reasons": s["reasons"], "score": s["score"],
                          "evidence": [(e["start"], e["end"], e["text"]) for e in s["evidence"]]})
    evidence = {s["number"]: [(a, b) for a, b, _ in s["evidence"]] for s in sentences}
    return {"source": segments(view["source"], evidence), "draft": view["draft"], "edited": view["edited"],
            "draft_segments": _draft_segments(view["draft"], sentences), "sentences": sentences,
            "unsupported": [s for s in sentences if s["label"] != "supported"], "flags": view["flags"],
            "phi_counts": artifact.record.get("phi_counts") or {}}


def segments(text: str, spans: dict[int, list[tuple[int, int]]]) -> list[tuple[str, tuple[int, ...]]]:
    """``text`` cut at every span boundary: ``(piece, owners)`` where owners are the keys whose spans cover it.

    >>> segments("abcdef", {1: [(1, 3)], 2: [(2, 5)]})
    [('a', ()), ('b', (1,)), ('c', (1, 2)), ('de', (2,)), ('f', ())]
    """
    cuts = sorted({0, len(text), *(p for ranges in spans.values() for a, b in ranges for p in (a, b)
                                   if 0 <= p <= len(text))})
    return [(text[a:b], tuple(k for k, ranges in spans.items() if any(s <= a and b <= e for s, e in ranges)))
            for a, b in zip(cuts, cuts[1:])]


def _draft_segments(draft: str, sentences: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any] | None]]:
    """The draft as plain text between its checked sentences (which carry their grounding verdict)."""
    out: list[tuple[str, dict[str, Any] | None]] = []
    at = 0
    for s in sorted(sentences, key=lambda s: s["start"]):
        if s["start"] < at or s["end"] > len(draft):
            continue  # offsets that do not fit the stored draft: show it as plain text rather than mis-mark it
        out += [(draft[at:s["start"]], None), (draft[s["start"]:s["end"]], s)]
        at = s["end"]
    return [*out, (draft[at:], None)]


# -- ledger --------------------------------------------------------------------------------------------
@router.get("/ledger")
def ledger_page(request: Request, page: int = Query(1, ge=1), artifact: str = "",
                session: Session = Depends(allowed("ledger:read"))) -> HTMLResponse:
    return _ledger_response(request, session, page, artifact, report=None)


@router.post("/ledger/verify")
def ledger_verify(request: Request, session: Session = Depends(posted("ledger:read"))) -> HTMLResponse:
    return _ledger_response(request, session, 1, "", report=Ledger(store_of(request)).verify())


def _ledger_response(request: Request, session: Session, page: int, artifact: str, report: Any) -> HTMLResponse:
    entries = Ledger(store_of(request)).entries(artifact or None)
    pages = max(1, math.ceil(len(entries) / LEDGER_PAGE))
    page = min(page, pages)
    newest_first = entries[::-1][(page - 1) * LEDGER_PAGE: page * LEDGER_PAGE]
    rows = [{"seq": e.seq, "time": e.content.get("time", ""), "event": e.event, "actor": e.content.get("actor", ""),
             "artifact_id": e.artifact_id, "hash": e.hash} for e in newest_first]
    return render(request, "ledger.html", session, rows=rows, page=page, pages=pages, total=len(entries),
                  artifact=artifact, report=report)


# -- dashboard -----------------------------------------------------------------------------------------
@router.get("/dashboard")
def dashboard_page(request: Request, period: Literal["week", "day"] = "week",
                   session: Session = Depends(allowed("artifacts:read"))) -> HTMLResponse:
    store = store_of(request)
    board = dashboard.build(store.list_artifacts(), store.all_reviews(), period=period)
    return render(request, "dashboard.html", session, board=board, periods=dashboard.PERIODS, charts=_charts(board))


def _charts(board: dashboard.Dashboard) -> dict[str, list[tuple[str, float | None, str]]]:
    """Bars to draw, as (label, value, value in words); groups with nothing measured are left out."""
    def label(row: dashboard.Measures) -> str:
        return f"{row.period} · {row.kind}"

    return {
        "approval": [(label(r), r.approval_rate, f"{r.approval_rate:.0%} of {r.decided}")
                     for r in board.rows if r.approval_rate is not None],
        "usefulness": [(label(r), r.mean_usefulness, f"{r.mean_usefulness:.1f} ({len(r.usefulness)})")
                       for r in board.rows if r.mean_usefulness is not None],
        "trust": [(label(r), r.mean_trust, f"{r.mean_trust:.1f} ({len(r.trust)})")
                  for r in board.rows if r.mean_trust is not None],
        "failures": [(f"{f.metric} ({f.kind})", f.failed, f"{f.failed} of {f.scored}")
                     for f in board.failures if f.failed],
    }
