// Keyboard shortcuts and evidence highlighting for the Hygeia review console. The pages work without it:
// every shortcut has a button or link, and every sentence's evidence is also listed in the page.
(() => {
  "use strict";
  const $ = (selector) => document.querySelector(selector);
  const page = document.body.dataset.page;
  const help = $("#help");
  const TEXT_INPUTS = /^(text|search|password|email|number|url|tel|date|datetime-local|month|week|time)$/;

  // A single letter must never fire while the reviewer types (radio buttons and buttons are not typing).
  const typing = (el) => !!el && (el.isContentEditable || el.tagName === "TEXTAREA" || el.tagName === "SELECT"
    || (el.tagName === "INPUT" && TEXT_INPUTS.test(el.type)));

  const keys = { "?": () => help && help.showModal() };

  if (page === "queue") {
    const rows = Array.from(document.querySelectorAll("#queue tbody tr[data-href]"));
    let current = -1;
    const select = (i) => {
      if (!rows.length) return;
      current = Math.max(0, Math.min(rows.length - 1, i));
      rows.forEach((row, j) => row.classList.toggle("current", j === current));
      rows[current].querySelector("a").focus();
    };
    keys.j = () => select(current + 1);
    keys.k = () => select(current - 1);
    keys.Enter = () => { if (current >= 0) window.location.href = rows[current].dataset.href; };
    keys["/"] = () => { const q = $("#q"); q.focus(); q.select(); };
    rows.forEach((row, j) => row.addEventListener("focusin", () => {
      current = j;
      rows.forEach((r, i) => r.classList.toggle("current", i === j));
    }));
  }

  if (page === "artifact") {
    const form = $("#decide-form");
    const comment = $("#comment");
    const edit = $("#edit");
    const edited = $("#edited-text");
    if (form) {
      const hint = $("#reject-hint");
      // Ctrl+Enter in the comment rejects only once the reviewer asked to reject: never while writing a note.
      let rejecting = false;
      const askReason = (message) => {
        rejecting = true;
        hint.hidden = false;
        if (message) hint.textContent = message;
        comment.focus();
      };
      keys.a = () => $("#approve").click();
      keys.r = () => askReason();
      if (edit) keys.e = () => { edit.open = true; edited.focus(); edited.setSelectionRange(0, 0); edited.scrollTop = 0; };
      const submitOn = (field, button, armed) => field && field.addEventListener("keydown", (ev) => {
        if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey) && armed()) { ev.preventDefault(); $(button).click(); }
      });
      submitOn(comment, "#reject", () => rejecting);
      submitOn(edited, "#submit-edit", () => true);
      // The server refuses a rejection without a reason too; this only saves a round trip.
      form.addEventListener("submit", (ev) => {
        if (ev.submitter && ev.submitter.value === "reject" && !comment.value.trim()) {
          ev.preventDefault();
          askReason("A rejection needs its reason: write it in the comment, then press Ctrl+Enter.");
        }
      });
    }
    // Focusing or hovering a drafted sentence lights up its evidence in the source.
    const status = $("#evidence-status");
    const source = $("#source");
    // Scroll the source panel only: hovering a sentence must not move the page under the pointer.
    const reveal = (mark) => {
      const panel = source.getBoundingClientRect(), box = mark.getBoundingClientRect();
      if (box.top < panel.top || box.bottom > panel.bottom) source.scrollTop += box.top - panel.top - panel.height / 3;
    };
    const light = (number, on) => {
      const marks = document.querySelectorAll(`.ev[data-s~="${number}"]`);
      marks.forEach((el) => el.classList.toggle("lit", on));
      document.querySelectorAll(`.sent[data-s="${number}"]`).forEach((el) => el.classList.toggle("lit", on));
      if (on && marks.length) reveal(marks[0]);
      if (status && on) status.textContent = `Sentence ${number}: ${marks.length ? "its evidence is highlighted in the source" : "no evidence in the source"}.`;
    };
    document.querySelectorAll(".sent[data-s]").forEach((el) => {
      const number = el.dataset.s;
      el.addEventListener("mouseenter", () => light(number, true));
      el.addEventListener("mouseleave", () => light(number, false));
      el.addEventListener("focus", () => light(number, true));
      el.addEventListener("blur", () => light(number, false));
    });
  }

  document.addEventListener("keydown", (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.defaultPrevented || (help && help.open)) return;
    if (typing(ev.target)) return;
    // Enter on a link or button keeps its own meaning.
    if (ev.key === "Enter" && ev.target.closest && ev.target.closest("a, button, summary")) return;
    const action = keys[ev.key];
    if (action) { ev.preventDefault(); action(); }
  });
})();
