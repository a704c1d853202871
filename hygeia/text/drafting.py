"""The gateway entry point: draft a clinical text with a backend, and never leak un-de-identified text.

``draft(task, source, backend)`` renders the task's versioned prompt template, calls the backend,
runs the safety flags and the task's measurements, and returns a :class:`Draft` that records
everything provenance needs (backend, model, externality, template name/version/SHA-256, decoding
parameters, source hash, PHI counts). It never holds the surrogate map: mapping surrogates back is
the reviewer view's job (``DeidResult.reidentify``).

The guard: an external backend (one whose text leaves this machine) only accepts a
:class:`~hygeia.privacy.phi.DeidResult`; handed a plain ``str`` it raises :class:`BackendError`
before anything is sent.

>>> from hygeia.privacy import deidentify
>>> note = deidentify(open("note.txt").read())  # doctest: +SKIP
>>> d = draft("discharge-summary", note, "extractive")  # doctest: +SKIP
>>> d.template, d.template_version, [f.kind for f in d.flags]  # doctest: +SKIP
('discharge_summary', 1, ['missing_medication'])
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from hygeia.errors import BackendError, TextError
from hygeia.privacy.phi import DeidResult
from hygeia.text.backends import Backend, make_backend
from hygeia.text.flags import Flag, check_flags
from hygeia.text.prompts import load_template
from hygeia.text.tasks import Task, get_task, task_options


@dataclass(frozen=True)
class Draft:
    """A drafted text and how it was made. Holds no PHI beyond what the (de-identified) source held."""

    text: str
    task: str
    backend: str
    model: str
    external: bool
    template: str
    template_version: int
    template_sha256: str
    decoding: Mapping[str, Any]
    flags: tuple[Flag, ...] = ()
    metrics: Mapping[str, float] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    source_sha256: str = ""
    deidentified: bool = False
    phi_counts: Mapping[str, int] = field(default_factory=dict)
    finish_reason: str = "stop"

    def provenance(self) -> dict[str, Any]:
        """Everything but the text, as plain JSON-able values (for the ledger and the model card).

        Flags keep kind, item and severity only: their evidence is note text and stays with the draft.
        """
        record = asdict(self)
        record.pop("text")
        record["flags"] = [{"kind": f.kind, "item": f.item, "severity": f.severity} for f in self.flags]
        record["decoding"], record["metrics"] = dict(self.decoding), dict(self.metrics)
        record["options"], record["phi_counts"] = dict(self.options), dict(self.phi_counts)
        return record


def _resolve_backend(backend: Backend | str) -> Backend:
    if isinstance(backend, Backend):
        return backend
    if isinstance(backend, str):
        return make_backend(backend)
    raise TextError(f"backend must be a Backend or a registered name such as 'extractive', "
                    f"got {type(backend).__name__}")


def draft(
    task: Task | str,
    source: DeidResult | str,
    backend: Backend | str = "extractive",
    *,
    max_tokens: int | None = None,
    temperature: float = 0.0,
    seed: int | None = None,
    template_version: int | None = None,
    **options: Any,
) -> Draft:
    """Draft ``task`` from ``source`` with ``backend``; task options (e.g. ``target_grade=6``) go in ``options``.

    Raises :class:`BackendError` when ``backend`` is external and ``source`` is a plain string (not
    de-identified) — checked before the prompt is even built — or when the backend fails.
    """
    task = get_task(task) if isinstance(task, str) else task
    backend = _resolve_backend(backend)
    if isinstance(source, DeidResult):
        text, deidentified, counts = source.text, True, source.counts()
    elif isinstance(source, str):
        text, deidentified, counts = source, False, {}
    else:
        raise TextError(f"source must be note text or a DeidResult, got {type(source).__name__}")
    if backend.external and not deidentified:
        raise BackendError(
            f"refusing to send text that has not been de-identified to the external backend {backend.name!r}; "
            "pass hygeia.privacy.deidentify(text) instead of the raw note, or use a local backend "
            "(extractive, local, or an endpoint on 127.0.0.1)"
        )
    if not text.strip():
        raise TextError("the source note is empty; give the text of the note to draft from")
    opts = task_options(task, options)
    if max_tokens is not None and max_tokens < 1:
        raise TextError(f"max_tokens must be at least 1, got {max_tokens}")
    if not 0.0 <= float(temperature) <= 2.0:
        raise TextError(f"temperature must be between 0 and 2, got {temperature}")
    template = load_template(task.template, template_version)
    messages = template.render(text, **opts)
    decoding = {"max_tokens": int(max_tokens or task.max_tokens), "temperature": float(temperature), "seed": seed}
    completion = backend.complete(messages, **decoding)
    return Draft(
        text=completion.text,
        task=task.name,
        backend=backend.name,
        model=completion.model,
        external=backend.external,
        template=template.name,
        template_version=template.version,
        template_sha256=template.sha256,
        decoding=decoding,
        flags=tuple(check_flags(text, completion.text)),
        metrics=task.measure(completion.text, opts),
        options=opts,
        source_sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        deidentified=deidentified,
        phi_counts=counts,
        finish_reason=completion.finish_reason,
    )
