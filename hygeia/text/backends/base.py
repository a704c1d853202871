"""The `Backend` contract every LLM backend honours, the prompt convention, and the registry.

A backend turns chat messages into one completion. It declares whether it is ``external``
(the text leaves this machine): the drafting gateway refuses to hand an external backend text
that has not been de-identified. ``__init__`` only stores parameters (as in scikit-learn);
network clients and model weights are created on first use.

>>> from hygeia.text.backends import make_backend
>>> backend = make_backend("extractive")
>>> backend.external
False
>>> msg = user_message("Summarise the note.", "Fever for two days. Started on amoxicillin.", [("Summary", "", 2)])
>>> backend.complete([msg]).text
'Summary:\\nFever for two days.\\nStarted on amoxicillin.'
"""

from __future__ import annotations

import inspect
import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypedDict

from hygeia.errors import BackendError
from hygeia.registry import build_registered

REGISTRY: dict[str, type[Backend]] = {}

# The prompt convention shared by every template and every backend: the source note sits between
# these markers and the wanted sections are listed one per line as ``name | hint | max sentences``.
# An LLM reads them as plain instructions; the extractive backend parses them, so one interface
# (chat messages) serves both.
SOURCE_OPEN, SOURCE_CLOSE = "<source>", "</source>"
SECTIONS_OPEN, SECTIONS_CLOSE = "<sections>", "</sections>"


class Message(TypedDict):
    """One chat message, as in the OpenAI chat-completions protocol."""

    role: str  # "system", "user" or "assistant"
    content: str


@dataclass(frozen=True)
class Completion:
    """What a backend returned: the text plus the facts provenance needs."""

    text: str
    backend: str
    model: str
    finish_reason: str = "stop"
    usage: dict[str, int] = field(default_factory=dict)


class Backend(ABC):
    """Turns chat messages into one completion."""

    #: Registry name, e.g. ``"openai"``.
    name: ClassVar[str]
    #: One line for ``--help`` and the model card.
    summary: ClassVar[str] = ""

    @property
    @abstractmethod
    def model(self) -> str:
        """The model identity recorded with every draft (name and, where known, weights hash)."""

    @property
    @abstractmethod
    def external(self) -> bool:
        """True when text given to this backend leaves the machine."""

    @abstractmethod
    def complete(
        self, messages: Sequence[Message], *, max_tokens: int = 512, temperature: float = 0.0, seed: int | None = None
    ) -> Completion:
        """Answer the conversation ``messages``; raise :class:`BackendError` on any failure."""

    def describe(self) -> dict[str, Any]:
        """Name, model and externality, for the ledger and the model card."""
        return {"backend": self.name, "model": self.model, "external": self.external}

    def __repr__(self) -> str:
        # Constructor parameters as stored (secrets and I/O objects left out); never resolves configuration.
        params = inspect.signature(type(self).__init__).parameters
        hidden = ("self", "api_key", "transport")
        shown = {p: vars(self)[p] for p in params if p not in hidden and p in vars(self)}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in shown.items())})"


def register(cls: type[Backend]) -> type[Backend]:
    """Class decorator: make a backend available by its ``name``."""
    REGISTRY[cls.name] = cls
    return cls


def make_backend(name: str, **params: Any) -> Backend:
    """Build a registered backend by name, with a helpful error for typos."""
    return build_registered(REGISTRY, name, params, "backend", BackendError)


# -- the prompt convention --------------------------------------------------------------------------------


def format_sections(sections: Sequence[tuple[str, str, int]]) -> str:
    """The ``<sections>`` block: one ``name | hint | max sentences`` line per wanted section."""
    lines = [f"{name} | {hint} | {limit}" for name, hint, limit in sections]
    return "\n".join([SECTIONS_OPEN, *lines, SECTIONS_CLOSE])


def user_message(instruction: str, source: str, sections: Sequence[tuple[str, str, int]]) -> Message:
    """A user message in the shared convention (templates build the same shape from their files)."""
    body = f"{instruction}\n\n{format_sections(sections)}\n\n{SOURCE_OPEN}\n{source}\n{SOURCE_CLOSE}"
    return {"role": "user", "content": body}


def parse_request(messages: Sequence[Message]) -> tuple[str, list[tuple[str, str, int]]]:
    """The source text and the wanted sections from the last user message that carries a source."""
    for message in reversed(messages):
        content = message.get("content") or ""
        if message.get("role") == "user" and SOURCE_OPEN in content and SOURCE_CLOSE in content:
            source = content.split(SOURCE_OPEN, 1)[1].rsplit(SOURCE_CLOSE, 1)[0].strip("\n")
            sections: list[tuple[str, str, int]] = []
            block = re.search(re.escape(SECTIONS_OPEN) + r"(.*?)" + re.escape(SECTIONS_CLOSE), content, re.DOTALL)
            for line in (block.group(1).splitlines() if block else []):
                parts = [p.strip() for p in line.split("|")]
                if parts[0]:
                    limit = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else 3
                    sections.append((parts[0], parts[1] if len(parts) > 1 else "", limit))
            return source, sections or [("Summary", "", 5)]
    raise BackendError(
        f"no {SOURCE_OPEN}...{SOURCE_CLOSE} block in the messages; build them with a prompt template "
        "(hygeia.text.prompts) or hygeia.text.backends.base.user_message"
    )
