"""An OpenAI-compatible chat-completions client (OpenAI, Azure OpenAI, vLLM, llama.cpp server, Ollama, LM Studio).

Configuration comes from arguments or the environment: ``HYGEIA_LLM_BASE_URL`` (e.g.
``https://api.openai.com/v1`` or ``http://127.0.0.1:8000/v1``), ``HYGEIA_LLM_MODEL``, ``HYGEIA_LLM_API_KEY``.
The backend is ``external`` unless the base URL is a loopback address (a model served on this
machine); pass ``external=True`` to treat a loopback endpoint as external anyway (an SSH tunnel
to another host looks like loopback). Every request goes through one httpx transport, so a
deployment can swap it (a proxy, mutual TLS) with ``transport=``.

Retries: HTTP 429 and 5xx, connection errors and timeouts are retried with exponential backoff
(honouring ``Retry-After``); any other failure raises a one-line :class:`BackendError` naming the
endpoint and the fix. Error messages never repeat the prompt.

>>> backend = OpenAIBackend("http://127.0.0.1:8000/v1", model="llama-3.1-8b-instruct")
>>> backend.external
False
>>> backend.complete([{"role": "user", "content": "Say hi."}], max_tokens=5).text  # doctest: +SKIP
'Hi!'
"""

from __future__ import annotations

import ipaddress
import json
import os
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx

from hygeia.errors import BackendError
from hygeia.text.backends.base import Backend, Completion, Message, register

ENV_BASE_URL, ENV_MODEL, ENV_API_KEY = "HYGEIA_LLM_BASE_URL", "HYGEIA_LLM_MODEL", "HYGEIA_LLM_API_KEY"
_RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})
_MAX_RETRY_AFTER = 30.0  # never sleep longer than this on a server's say-so


def is_loopback(url: str) -> bool:
    """True when ``url`` points at this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _one_line(text: str, limit: int = 160) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


@register
class OpenAIBackend(Backend):
    """Chat completions over HTTP from an OpenAI-compatible server.

    ``timeout`` is seconds per attempt; ``max_retries`` extra attempts follow a retryable failure,
    waiting ``backoff * 2**attempt`` seconds.
    """

    name = "openai"
    summary = "OpenAI-compatible chat-completions endpoint (external unless it is on this machine)"

    def __init__(
        self,
        base_url: str | None = None,
        model: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 60.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        external: bool | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url
        self.model_name = model
        self.api_key = api_key
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.external_override = external
        self.transport = transport
        self._client: httpx.Client | None = None

    # -- configuration ----------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The resolved base URL (argument, else ``HYGEIA_LLM_BASE_URL``), without a trailing slash."""
        url = (self.base_url or os.environ.get(ENV_BASE_URL) or "").strip().rstrip("/")
        if not url:
            raise BackendError(f"no LLM endpoint configured; set {ENV_BASE_URL} (e.g. http://127.0.0.1:8000/v1) "
                               "or pass base_url=, or use --backend extractive")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BackendError(f"LLM base URL {url!r} is not an http(s) URL; give one such as https://host/v1")
        if parts.scheme == "http" and not is_loopback(url):
            # Over plain HTTP the API key and the (de-identified) note would cross the network in clear text.
            raise BackendError(f"LLM endpoint {url} uses plain http to another machine; use https://")
        return url

    @property
    def model(self) -> str:
        model = self.model_name or os.environ.get(ENV_MODEL, "").strip()
        if not model:
            raise BackendError(f"no LLM model named; set {ENV_MODEL} or pass model= (the name the server serves)")
        return model

    @property
    def external(self) -> bool:
        if self.external_override is not None:
            return bool(self.external_override)
        return not is_loopback(self.url)

    def _key(self) -> str | None:
        return self.api_key or os.environ.get(ENV_API_KEY) or None

    # -- I/O: the one place a byte leaves the process ----------------------------------------------------
    def _post(self, path: str, payload: dict[str, Any]) -> httpx.Response:
        if self._client is None:
            self._client = httpx.Client(base_url=self.url, timeout=self.timeout, transport=self.transport,
                                        follow_redirects=False)
        headers = {"Content-Type": "application/json"}
        if key := self._key():
            headers["Authorization"] = f"Bearer {key}"
        return self._client.post(path, json=payload, headers=headers)

    def close(self) -> None:
        """Close the HTTP connection pool (also done when the backend is garbage-collected)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    # -- the contract -----------------------------------------------------------------------------------
    def complete(
        self, messages: Sequence[Message], *, max_tokens: int = 512, temperature: float = 0.0, seed: int | None = None
    ) -> Completion:
        """POST ``{base_url}/chat/completions`` and return the first choice's text."""
        payload: dict[str, Any] = {"model": self.model, "messages": [dict(m) for m in messages],
                                   "max_tokens": int(max_tokens), "temperature": float(temperature)}
        if seed is not None:
            payload["seed"] = int(seed)
        endpoint = f"{self.url}/chat/completions"
        response = self._send(endpoint, payload)
        return self._parse(endpoint, response)

    def _send(self, endpoint: str, payload: dict[str, Any]) -> httpx.Response:
        attempts = self.max_retries + 1
        last = ""
        for attempt in range(attempts):
            wait = self.backoff * 2**attempt
            try:
                response = self._post("/chat/completions", payload)
            except httpx.TimeoutException:
                last = f"timed out after {self.timeout:g} s"
            except httpx.TransportError as exc:
                last = f"could not be reached ({type(exc).__name__})"
            else:
                if response.status_code < 400:
                    return response
                if response.status_code not in _RETRY_STATUS:
                    raise self._refused(endpoint, response)
                last = f"answered HTTP {response.status_code}"
                retry_after = response.headers.get("Retry-After", "")
                if retry_after.replace(".", "", 1).isdigit():
                    wait = min(float(retry_after), _MAX_RETRY_AFTER)
            if attempt + 1 < attempts:
                time.sleep(wait)
        fix = ("start the server or check HYGEIA_LLM_BASE_URL" if "reached" in last
               else "raise timeout= or use a smaller model" if "timed out" in last
               else "wait and retry, or lower the request rate")
        raise BackendError(f"LLM endpoint {endpoint} {last} ({attempts} attempts); {fix}, or use --backend extractive")

    def _refused(self, endpoint: str, response: httpx.Response) -> BackendError:
        code = response.status_code
        try:
            detail = response.json().get("error", {})
            detail = detail.get("message", "") if isinstance(detail, dict) else str(detail)
        except (ValueError, AttributeError):
            detail = response.text
        detail = f": {_one_line(detail)}" if detail else ""
        fix = {401: f"check the API key ({ENV_API_KEY})", 403: f"check the API key's permissions ({ENV_API_KEY})",
               404: "check the base URL (it usually ends in /v1) and the model name"}.get(
            code, "check the request parameters and the model name")
        return BackendError(f"LLM endpoint {endpoint} refused the request (HTTP {code}{detail}); {fix}")

    def _parse(self, endpoint: str, response: httpx.Response) -> Completion:
        bad = f"LLM endpoint {endpoint} returned a reply that is not a chat completion"
        fix = "check that the base URL points to an OpenAI-compatible server"
        try:
            body = response.json()
        except (json.JSONDecodeError, ValueError):
            raise BackendError(f"{bad} (not JSON); {fix}") from None
        try:
            choice = body["choices"][0]
            message = choice["message"]
        except (KeyError, IndexError, TypeError):
            raise BackendError(f"{bad} (no choices[0].message); {fix}") from None
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, str) or not content.strip():
            refusal = message.get("refusal") if isinstance(message, dict) else None
            if refusal:
                raise BackendError(f"LLM endpoint {endpoint} declined to answer ({_one_line(refusal)}); "
                                   "rephrase the task or use another model")
            raise BackendError(f"{bad} (empty message content); {fix}")
        usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
        return Completion(text=content.strip(), backend=self.name, model=str(body.get("model") or self.model),
                          finish_reason=str(choice.get("finish_reason") or "stop"),
                          usage={k: int(v) for k, v in usage.items() if isinstance(v, int)})

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
