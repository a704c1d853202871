"""The web review console in a real browser (Chromium driven by Playwright) against a real uvicorn.

A reviewer logs in with their token, approves a synthetic table with ratings, reviews a clinical-text draft whose
unsupported sentences are highlighted, edits it in place and sees the stored diff; the keyboard alone is enough;
an auditor reads but cannot decide; a researcher is refused the queue; a POST without the CSRF token is refused.
Screenshots go to ``tmp_path``; with ``HYGEIA_DOC_SCREENSHOTS=1`` they are also copied to docs/screenshots/ (off by
default, so a test run does not rewrite files in the checkout).
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import chat_server
import httpx
import pytest
from live_server import free_port, serve_in_thread
from playwright.sync_api import expect, sync_playwright

from hygeia.data.demo import load_demo
from hygeia.governance.accounts import ROLES, Accounts
from hygeia.governance.clinical_text import draft_candidate
from hygeia.governance.ledger import Ledger
from hygeia.governance.policy import load_policy
from hygeia.governance.synthesize import synthesize
from hygeia.server import create_app
from hygeia.store import Store

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
EXAMPLES = Path(__file__).resolve().parents[2] / "hygeia" / "text" / "examples"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="the browser tests drive Chromium at /usr/bin/chromium "
                                "(not installed here; CI installs it with scripts/install-chromium.sh)")

#: A hosted model's draft of the pneumonia note: a dose the source never gives (doxycycline 200 mg, not 100 mg)
#: and a sentence with no support at all. No names: the note's names are surrogates that differ per key.
HOSTED_DRAFT = """Reason for admission:
The patient is a 71-year-old man who presented with fever, cough with green sputum and dyspnea on exertion.
Chest x-ray showed a right lower lobe consolidation.
He was admitted for community-acquired pneumonia.

Hospital course:
He was treated with IV ceftriaxone and azithromycin.
Blood cultures were negative.
He was switched to oral doxycycline on day three.
He felt much better and was eager to go home.

Discharge medications:
Doxycycline 200 mg by mouth twice daily for 5 more days.

Follow-up:
Repeat CT chest in 3 months to follow up the right upper lobe nodule.
"""


@dataclass
class Console:
    url: str
    store: Store
    tokens: dict[str, str]
    table: str  # a synthetic table that passed its gate
    failing: str  # a hosted draft that failed its gate (a changed dose)
    heart: str  # an extractive draft for the keyboard-only flow
    spare: str  # a draft nobody decides (the auditor's and the CSRF tests)


@pytest.fixture(scope="module")
def console(tmp_path_factory) -> Console:
    """One server over one SQLite store for the whole file: the artifacts take most of its run time."""
    tmp = tmp_path_factory.mktemp("console")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HYGEIA_HOME", str(tmp / "home"))
        env.setenv("HYGEIA_DATABASE_URL", f"sqlite:///{tmp / 'hygeia.db'}")
        store = Store(f"sqlite:///{tmp / 'hygeia.db'}")
        tokens = {role: Accounts(store).add_user(f"{role}-1", role) for role in ROLES}
        ids = make_artifacts(store, tmp)
        server, thread = serve_in_thread(create_app(store, run_jobs=False), port := free_port())
        yield Console(url=f"http://127.0.0.1:{port}", store=store, tokens=tokens, **ids)
        server.should_exit = True
        thread.join(15)
        store.engine.dispose()


def make_artifacts(store: Store, tmp: Path) -> dict[str, str]:
    def note(name: str) -> str:
        return (EXAMPLES / name).read_text(encoding="utf-8")

    with chat_server.ChatServer(reply=HOSTED_DRAFT) as hosted:
        failing = draft_candidate(note("pneumonia_discharge.txt"), "discharge-summary", out_dir=tmp / "failing",
                                  backend="openai", store=store, actor="steward-1", source="pneumonia_discharge.txt",
                                  backend_params={"base_url": hosted.base_url, "model": "hosted-model",
                                                  "external": True, "backoff": 0.0})
    assert not failing.verdict.passed, "the hosted draft should fail its gate (a changed dose)"
    drafts = {key: draft_candidate(note(f"{name}.txt"), "discharge-summary", out_dir=tmp / key, store=store,
                                   actor="steward-1", source=f"{name}.txt").artifact_id
              for key, name in (("heart", "heart_failure_discharge"), ("spare", "dyspepsia_visit"))}
    actg = load_demo("actg175")
    table = synthesize(actg.replace_frame(actg.frame.head(600)), policy=load_policy("demo"), out_dir=tmp / "table",
                       store=store, actor="steward-1")
    return {"table": table.artifact_id, "failing": failing.artifact_id, **drafts}


@pytest.fixture(scope="module")
def browser():
    expect.set_options(timeout=10_000)  # assertions on the page retry this long (a loaded machine is slow)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, console):
    context = browser.new_context(base_url=console.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def login(page, console: Console, role: str) -> None:
    page.goto("/login")
    page.get_by_label("API token").fill(console.tokens[role])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)  # a click does not wait for the next page


def assert_accessible_basics(page) -> None:
    """Every form control has a label, every image its alt text, and the landmarks are there (no axe-core here)."""
    unlabelled = page.evaluate("""() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
        .filter(el => !el.labels || !el.labels.length).map(el => el.id || el.name)""")
    assert unlabelled == []
    assert page.evaluate("() => [...document.images].filter(img => !img.alt).length") == 0
    for landmark in ("header", "nav", "main"):
        assert page.locator(landmark).count() >= 1


def shot(page, tmp_path: Path, name: str, *, docs: bool = False, full_page: bool = False) -> Path:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    if docs and os.environ.get("HYGEIA_DOC_SCREENSHOTS"):
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, DOCS / path.name)
    return path


def test_a_reviewer_logs_in_and_approves_a_table_with_ratings(page, console, tmp_path):
    page.goto("/")
    assert "/login" in page.url and "next=/" in page.url  # no session: the login page, then back here
    login(page, console, "reviewer")
    assert page.url == console.url + "/"
    candidates = console.store.list_artifacts("candidate")  # the queue opens on the candidates
    queue = page.locator("#queue tbody tr")
    assert queue.count() == len(candidates)
    failed = page.locator("#queue").get_by_text("FAIL", exact=True)  # the gate's verdict in words
    assert failed.count() == sum(not a.gate_passed for a in candidates)
    assert_accessible_basics(page)
    shot(page, tmp_path, "queue", docs=True)

    page.get_by_label("Kind").select_option("synthetic_table")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url("**kind=synthetic_table**")
    assert queue.count() == 1
    queue.get_by_role("link").click()
    page.wait_for_url(f"**/artifacts/{console.table}")
    assert page.locator(".scorecard tbody tr:not(.family)").count() >= 10
    assert page.locator(".scorecard").get_by_text("PASS").count() >= 10
    # The plots come from the API's figure route, authorised by the same session cookie.
    plots = page.locator("#plots > .figures img")
    assert plots.count() >= 3
    for i in range(plots.count()):
        plots.nth(i).scroll_into_view_if_needed()
        assert plots.nth(i).get_attribute("alt")
        assert plots.nth(i).evaluate("img => img.decode().then(() => img.naturalWidth)") > 0  # loaded, not broken
    assert_accessible_basics(page)
    shot(page, tmp_path, "artifact-table", docs=True, full_page=True)

    page.locator("#usefulness-4").check()
    page.locator("#trust-5").check()
    page.get_by_role("button", name="Approve").click()
    page.wait_for_url("**decided=true")
    assert "Decision recorded: approve" in page.locator("#outcome").inner_text()
    assert "APPROVED" in page.locator("dl.meta").inner_text().upper()
    assert page.locator("#decision-title").count() == 0  # nothing left to decide
    (review,) = console.store.reviews_for(console.table)
    assert (review.decision, review.reviewer, review.usefulness, review.trust) == ("approve", "reviewer-1", 4, 5)


def test_a_draft_shows_unsupported_sentences_and_an_edit_in_place_is_gated_again(page, console, tmp_path):
    login(page, console, "reviewer")
    page.goto(f"/artifacts/{console.failing}")
    assert page.locator("#verdict").get_by_text("FAIL").count() >= 1
    flagged = page.locator("#draft .sent-critical, #draft .sent-unsupported")
    assert flagged.count() >= 2
    draft_text = page.locator("#draft").inner_text()
    assert "CRITICAL" in draft_text and "UNSUPPORTED" in draft_text  # the verdict in words, beside the colour
    why = page.locator("ol.why")
    assert "Doxycycline 200 mg" in why.inner_text() and why.locator("blockquote").count() >= 1
    assert page.locator(".ev.lit").count() == 0
    page.locator("#draft .sent-critical").first.hover()
    expect(page.locator(".ev.lit").first).to_be_visible()  # its evidence is highlighted in the source
    assert "Doxycycline 100 mg" in " ".join(page.locator(".ev.lit").all_inner_texts())
    page.mouse.move(0, 0)
    expect(page.locator(".ev.lit")).to_have_count(0)
    page.locator("#draft .sent-critical").first.focus()  # the keyboard's way to the same evidence
    expect(page.locator(".ev.lit").first).to_be_visible()
    assert_accessible_basics(page)
    page.evaluate("document.getElementById('text').scrollIntoView()")
    shot(page, tmp_path, "text-review", docs=True)

    page.locator("body").click(position={"x": 5, "y": 5})  # out of any field, so the shortcut fires
    page.keyboard.press("e")
    expect(page.locator("#edited-text")).to_be_focused()
    original = page.locator("#edited-text").input_value()
    edited = original.replace("200 mg", "100 mg").replace("He felt much better and was eager to go home.\n", "")
    assert edited != original
    page.locator("#edited-text").fill(edited)
    page.get_by_label("Comment").fill("dose corrected to the source; removed an unsupported sentence")
    page.locator("#usefulness-3").check()
    page.locator("#trust-2").check()
    page.locator("#edited-text").press("Control+Enter")
    page.wait_for_url("**decided=true")
    outcome = page.locator("#outcome")
    assert "Decision recorded: edit" in outcome.inner_text()
    assert outcome.get_by_text("PASS").count() == 1  # the edited text, gated again
    assert any("-Doxycycline 200 mg" in t for t in outcome.locator("pre.diff del").all_inner_texts())
    assert any("+Doxycycline 100 mg" in t for t in outcome.locator("pre.diff ins").all_inner_texts())
    shot(page, tmp_path, "text-edit-outcome", docs=True)
    (review,) = console.store.reviews_for(console.failing)
    assert review.decision == "edit" and "+Doxycycline 100 mg" in review.diff and "\r" not in review.diff
    assert (review.usefulness, review.trust) == (3, 2)
    assert console.store.get_artifact(console.failing).gate_passed


def test_the_keyboard_alone_is_enough(page, console):
    page.goto("/login")
    page.keyboard.type(console.tokens["reviewer"])  # the token field has the focus
    page.keyboard.press("Enter")
    page.wait_for_url(console.url + "/")
    page.keyboard.press("/")
    expect(page.locator("#q")).to_be_focused()
    page.keyboard.type("heart")
    page.keyboard.press("Enter")
    page.wait_for_url("**q=heart**")
    page.keyboard.press("j")
    expect(page.locator("#queue tr.current")).to_have_count(1)
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/artifacts/{console.heart}")

    page.keyboard.press("?")
    expect(page.locator("#help")).to_be_visible()
    expect(page.locator("#help")).to_contain_text("Approve")
    page.keyboard.press("Escape")
    expect(page.locator("#help")).to_be_hidden()

    page.keyboard.press("r")
    expect(page.locator("#comment")).to_be_focused()
    page.keyboard.type("a")  # typing in a field is not a shortcut
    assert console.store.get_artifact(console.heart).status == "candidate" and "decided" not in page.url
    page.keyboard.press("Control+a")
    page.keyboard.press("Backspace")
    page.keyboard.press("Control+Enter")  # a rejection without its reason goes nowhere
    expect(page.locator("#reject-hint")).to_contain_text("needs its reason")
    page.keyboard.press("Tab")  # leave the field: now a single key decides
    page.keyboard.press("a")
    page.wait_for_url("**decided=true")
    assert "Decision recorded: approve" in page.locator("#outcome").inner_text()
    assert console.store.get_artifact(console.heart).status == "approved"


def test_an_auditor_reads_but_cannot_decide_and_verifies_the_ledger(page, console, tmp_path):
    login(page, console, "auditor")
    page.goto(f"/artifacts/{console.spare}")
    assert page.locator("#decide-form").count() == 0
    assert "may read this artifact but not decide" in page.locator("#no-decision").inner_text()
    assert "may not read the source note" in page.locator("#text").inner_text()
    assert page.locator("#source").count() == 0

    # Forging the form does not help: the server checks the permission, not the page.
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    response = httpx.post(f"{console.url}/artifacts/{console.spare}/decide", cookies=cookies,
                          data={"csrf": csrf, "decision": "approve"})
    assert response.status_code == 403 and "reviews:write" in response.text
    assert "<html" in response.text  # a page, not problem JSON
    assert console.store.get_artifact(console.spare).status == "candidate"

    page.get_by_role("link", name="Ledger", exact=True).click()
    page.wait_for_url("**/ledger")
    rows = page.locator("#ledger tbody tr")
    assert rows.count() >= 10
    assert rows.first.locator("td").first.inner_text() == str(len(Ledger(console.store).entries()))  # newest first
    page.get_by_role("button", name="Verify the chain").click()
    page.wait_for_url("**/ledger/verify")
    result = page.locator("#verify-result")
    assert "INTACT" in result.inner_text() and "ledger intact" in result.inner_text()
    assert_accessible_basics(page)
    shot(page, tmp_path, "ledger", docs=True)


def test_a_researcher_is_refused_the_queue(page, console):
    login(page, console, "researcher")
    response = page.goto("/")
    assert response.status == 403
    assert "needs artifacts:read" in page.locator("main").inner_text()
    assert page.locator("header nav a").count() == 0
    assert page.goto("/dashboard").status == 403


def test_a_post_without_the_csrf_token_is_refused(console):
    cookies = {"hygeia_token": console.tokens["reviewer"]}
    with httpx.Client(base_url=console.url, cookies=cookies) as http:
        page = http.get(f"/artifacts/{console.spare}").text
        token = re.search(r'name="csrf" value="([0-9a-f]{64})"', page).group(1)
        for data in ({"decision": "approve"}, {"decision": "approve", "csrf": "0" * 64}):
            refused = http.post(f"/artifacts/{console.spare}/decide", data=data)
            assert refused.status_code == 403 and "CSRF" in refused.text
        assert http.post("/logout", data={}).status_code == 403
        assert console.store.get_artifact(console.spare).status == "candidate"
        assert not console.store.reviews_for(console.spare)
    # Another session's token is no good either, even the same reviewer's on another device.
    second_session = Accounts(console.store).issue_token("reviewer-1", label="second device")
    with httpx.Client(base_url=console.url, cookies={"hygeia_token": second_session}) as http:
        refused = http.post(f"/artifacts/{console.spare}/decide", data={"decision": "approve", "csrf": token})
        assert refused.status_code == 403 and "CSRF" in refused.text
    # Logging in needs the form's own nonce too (login CSRF).
    assert httpx.post(f"{console.url}/login", data={"token": console.tokens["reviewer"]}).status_code == 403


def test_the_dashboard_shows_the_measures(page, console, tmp_path):
    login(page, console, "steward")
    page.get_by_role("link", name="Dashboard", exact=True).click()
    page.wait_for_url("**/dashboard")
    cards = page.locator(".card")
    assert {c.locator("h3").inner_text() for c in cards.all()} == {"clinical_text", "synthetic_table"}
    failures = page.locator("#failures tbody")
    assert re.search(r"grounding\.critical_unsupported\s+clinical_text\s+1\s+3", failures.inner_text())
    assert page.locator("figure.chart svg[role=img] title").count() >= 1
    assert_accessible_basics(page)
    shot(page, tmp_path, "dashboard", docs=True, full_page=True)
    page.get_by_label("Group by").select_option("day")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**period=day")
    assert re.search(r"\d{4}-\d{2}-\d{2}", page.locator("#over-time tbody").inner_text())
