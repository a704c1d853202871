"""The gateway: the external-backend guard (nothing leaves the machine un-de-identified), what a Draft records,
and the errors a user can cause."""

from __future__ import annotations

import hashlib
import json
from importlib import resources

import pytest

from hygeia.errors import BackendError, TextError
from hygeia.privacy.phi import DeidResult, PhiCategory, PhiSpan
from hygeia.text.backends import make_backend
from hygeia.text.backends.openai import OpenAIBackend
from hygeia.text.drafting import Draft, draft
from hygeia.text.prompts import load_template



import drafting_notes as notes  # noqa: E402
import chat_server  # noqa: E402  (tests/conftest.py puts tests/text on sys.path)

RAW = "Mr. Harold Vance (MRN 4471902) was admitted on 03/02/2024 with pneumonia and treated with doxycycline 100 mg."
DEID_TEXT = ("Mr. Peter Lund (MRN 9012345) was admitted on 05/19/2024 with pneumonia and treated with "
             "doxycycline 100 mg.")
DEID = DeidResult(
    DEID_TEXT,
    (PhiSpan(4, 16, PhiCategory.NAME, "Harold Vance"), PhiSpan(22, 29, PhiCategory.MRN, "4471902"),
     PhiSpan(47, 57, PhiCategory.DATE, "03/02/2024")),
    {"Peter Lund": "Harold Vance", "9012345": "4471902", "05/19/2024": "03/02/2024"},
)


@pytest.fixture(scope="module")
def server():
    with chat_server.ChatServer(reply="Reason for admission:\nPneumonia, treated with doxycycline 100 mg.") as srv:
        yield srv


@pytest.fixture
def chat(server):
    server.reset()
    return server


def external(chat) -> OpenAIBackend:
    # The server is on 127.0.0.1; forcing external=True makes it stand in for a hosted model.
    return OpenAIBackend(chat.base_url, model="hosted-model", external=True, backoff=0.0)


# -- the guard ---------------------------------------------------------------------------------------------
def test_external_backend_refuses_raw_text_and_sends_nothing(chat):
    with pytest.raises(BackendError, match="refusing to send text that has not been de-identified to the external "
                                           "backend 'openai'; pass hygeia.privacy.deidentify") as err:
        draft("discharge-summary", RAW, external(chat))
    assert chat.requests == []
    assert "Harold" not in str(err.value) and "\n" not in str(err.value)


def test_the_guard_fires_before_any_connection_is_attempted():
    # A hosted endpoint that does not exist: a connection attempt would fail differently (and slowly).
    hosted = OpenAIBackend("https://llm.invalid/v1", model="m", max_retries=0)
    assert hosted.external is True
    with pytest.raises(BackendError, match="not been de-identified"):
        draft("note-summary", RAW, hosted)


def test_external_backend_accepts_a_deid_result_and_only_surrogates_leave(chat):
    result = draft("discharge-summary", DEID, external(chat))
    (sent,) = chat.requests
    wire = sent.raw.decode()
    assert "Peter Lund" in wire and "9012345" in wire
    for original in ("Harold", "Vance", "4471902", "03/02/2024"):
        assert original not in wire
    assert result.external is True and result.deidentified is True
    assert result.phi_counts == {"DATE": 1, "MRN": 1, "NAME": 1}


def test_a_loopback_endpoint_is_not_external_and_may_see_raw_text(chat):
    local = OpenAIBackend(chat.base_url, model="local-model", backoff=0.0)
    assert local.external is False
    result = draft("discharge-summary", RAW, local)
    assert "Harold Vance" in chat.requests[0].raw.decode()
    assert result.external is False and result.deidentified is False


def test_end_to_end_with_the_real_deidentifier(chat):
    from hygeia.privacy import deidentify

    deid = deidentify(notes.PNEUMONIA, patient="p1")
    result = draft("discharge-summary", deid, external(chat))
    wire = chat.requests[0].raw.decode()
    for name in ("Harold", "Vance", "Lena Ortiz", "Amy Chen", "4471902"):
        assert name not in wire, f"{name!r} reached the external endpoint"
    assert result.phi_counts and result.deidentified


# -- what a draft records ------------------------------------------------------------------------------------
def test_draft_records_backend_template_decoding_and_flags(chat):
    result = draft("discharge-summary", DEID, external(chat), max_tokens=300, temperature=0.3, seed=11)
    template_file = resources.files("hygeia.text.prompts").joinpath("discharge_summary.v1.yaml").read_bytes()
    assert isinstance(result, Draft)
    assert result.text == "Reason for admission:\nPneumonia, treated with doxycycline 100 mg."
    assert (result.task, result.backend, result.model) == ("discharge-summary", "openai", "hosted-model")
    assert (result.template, result.template_version) == ("discharge_summary", 1)
    assert result.template_sha256 == hashlib.sha256(template_file).hexdigest()
    assert result.decoding == {"max_tokens": 300, "temperature": 0.3, "seed": 11}
    assert chat.requests[0].body["max_tokens"] == 300 and chat.requests[0].body["seed"] == 11
    assert result.source_sha256 == hashlib.sha256(DEID_TEXT.encode()).hexdigest()
    assert result.flags == ()  # the reply names doxycycline, the only drug


def test_a_draft_never_holds_the_surrogate_map():
    result = draft("discharge-summary", DEID)
    everything = repr(result) + json.dumps(result.provenance())
    for original in ("Harold", "Vance", "4471902", "03/02/2024"):
        assert original not in everything
    assert not any(isinstance(v, DeidResult) for v in vars(result).values())


def test_provenance_is_json_without_the_text_or_flag_evidence():
    result = draft("discharge-summary", notes.PNEUMONIA_UNSAFE)
    record = json.loads(json.dumps(result.provenance()))
    assert "text" not in record
    assert {"kind": "allergy_conflict", "item": "amoxicillin/clavulanate", "severity": "critical"} in record["flags"]
    assert all(set(flag) == {"kind", "item", "severity"} for flag in record["flags"])
    assert record["backend"] == "extractive" and record["external"] is False


def test_flags_come_with_the_draft():
    result = draft("discharge-summary", notes.PNEUMONIA_UNSAFE, "extractive")
    assert ("allergy_conflict", "amoxicillin/clavulanate") in {(f.kind, f.item) for f in result.flags}


def test_an_older_template_version_can_be_pinned_and_unknown_ones_are_errors():
    assert draft("note-summary", notes.CONVERSATION, template_version=1).template_version == 1
    with pytest.raises(TextError, match="has no version 9; available: \\[1\\]"):
        draft("note-summary", notes.CONVERSATION, template_version=9)
    with pytest.raises(TextError, match="no prompt template 'referral'"):
        load_template("referral")


# -- errors a user can cause ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("kwargs", "message"), [
    ({"source": "   "}, "the source note is empty"),
    ({"source": 42}, "source must be note text or a DeidResult, got int"),
    ({"backend": "gpt"}, "unknown backend 'gpt'"),
    ({"task": "referral"}, "unknown drafting task 'referral'"),
    ({"max_tokens": 0}, "max_tokens must be at least 1"),
    ({"temperature": 5}, "temperature must be between 0 and 2"),
])
def test_bad_input_is_a_one_line_error(kwargs, message):
    args = {"task": "discharge-summary", "source": notes.PNEUMONIA, "backend": "extractive", **kwargs}
    with pytest.raises(TextError, match=message):
        draft(args.pop("task"), args.pop("source"), args.pop("backend"), **args)


def test_backend_failure_surfaces_as_backend_error(chat):
    chat.script("500", "500")
    with pytest.raises(BackendError, match="answered HTTP 500"):
        draft("discharge-summary", DEID, OpenAIBackend(chat.base_url, model="m", max_retries=1, backoff=0.0))


def test_the_extractive_default_needs_no_configuration():
    result = draft("discharge-summary", notes.HEART_FAILURE)
    assert result.backend == "extractive" and result.model == make_backend("extractive").model
    assert result.external is False and result.text.startswith("Reason for admission:")
