"""A real HTTP server on 127.0.0.1 that speaks the OpenAI chat-completions protocol, for the backend tests.

Not a patched function: requests travel over a socket through httpx exactly as they would to a
vLLM or OpenAI endpoint. Behaviour is scripted per request with :meth:`ChatServer.script`:

- ``"ok"``: a chat completion whose content is ``reply`` (a string, or a function of the request body);
- ``"500"``, ``"503"``, ``"429"``, ``"401"``, ``"400"`` (any number): that HTTP status (429 carries
  ``Retry-After: 0``);
- ``"hang"``: sleep ``hang_s`` seconds before answering (past the client's timeout);
- ``"malformed"``: HTTP 200 with a body that is not JSON; ``"no-choices"``: JSON without ``choices``;
- ``"refusal"``: a message with ``content: null`` and a ``refusal``.

Once the script runs out, every request gets ``"ok"``. Every request is recorded (path, headers, body).

    with ChatServer() as server:
        server.script("500", "ok")
        OpenAIBackend(server.base_url, model="m").complete(...)
        server.requests  # two recorded requests
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None
    raw: bytes


class ChatServer:
    """Chat-completions server in a background thread; use as a context manager."""

    def __init__(self, reply: str | Callable[[dict[str, Any]], str] = "Summary:\nThe patient improved.",
                 hang_s: float = 3.0) -> None:
        self.reply = reply
        self.hang_s = hang_s
        self.requests: list[Received] = []
        self._script: deque[str] = deque()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def script(self, *steps: str) -> None:
        """Queue the behaviour of the next requests (then "ok" for ever)."""
        with self._lock:
            self._script.extend(steps)

    def reset(self) -> None:
        with self._lock:
            self._script.clear()
            self.requests.clear()

    def __enter__(self) -> ChatServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _next(self, received: Received) -> str:
        with self._lock:
            self.requests.append(received)
            return self._script.popleft() if self._script else "ok"

    def _handler(server) -> type[BaseHTTPRequestHandler]:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    for key, value in (headers or {}).items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
                    pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                step = server._next(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body, raw))
                if self.path != "/v1/chat/completions":
                    return self._send(404, b'{"error": {"message": "no such route"}}')
                if step == "hang":
                    time.sleep(server.hang_s)
                    step = "ok"
                if step.isdigit():
                    message = {"429": "rate limited", "401": "invalid api key",
                               "400": "max_tokens is too large"}.get(step, "internal error")
                    headers = {"Retry-After": "0"} if step == "429" else None
                    return self._send(int(step), json.dumps({"error": {"message": message}}).encode(), headers)
                if step == "malformed":
                    return self._send(200, b"<html>gateway says hi</html>")
                if step == "no-choices":
                    return self._send(200, json.dumps({"id": "x", "object": "chat.completion"}).encode())
                if step == "refusal":
                    message = {"role": "assistant", "content": None, "refusal": "I cannot help with that."}
                    return self._send(200, json.dumps({"choices": [{"index": 0, "message": message}]}).encode())
                text = server.reply(body or {}) if callable(server.reply) else server.reply
                answer = {
                    "id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()),
                    "model": (body or {}).get("model", "unknown"),
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": text}}],
                    "usage": {"prompt_tokens": len(raw) // 4, "completion_tokens": len(text.split()),
                              "total_tokens": len(raw) // 4 + len(text.split())},
                }
                return self._send(200, json.dumps(answer).encode())

        return Handler
