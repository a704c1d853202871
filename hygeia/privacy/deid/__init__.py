"""Clinical text de-identification: find the 18 Safe Harbor identifiers, replace them with surrogates.

Detection (Presidio analyzer + spaCy's small model + Hygeia's clinical recognizers) is kept apart
from replacement (surrogate operators), as in Presidio::

    >>> from hygeia.privacy import detect_phi, deidentify
    >>> [(s.text, s.category.value) for s in detect_phi("PT SEEN BY DR KOWALSKI ON 8/14.")]   # doctest: +SKIP
    [('KOWALSKI', 'NAME'), ('8/14', 'DATE')]
    >>> deid = Deidentifier(key="a secret kept outside the data")                            # doctest: +SKIP
    >>> first = deid.deidentify("Seen by Dr Kowalski on 8/14/2089.", patient="p1")             # doctest: +SKIP
    >>> first.text                                                                               # doctest: +SKIP
    'Seen by Dr Hartley on 11/2/2089.'

Within one patient the same original always gets the same surrogate and every date moves by the
same number of days, so intervals survive; another patient gets other surrogates. The map from
surrogate back to original lives only in :attr:`DeidResult.surrogates` (never logged, never in a
repr or an error message).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from hygeia.errors import DeidError
from hygeia.privacy.deid.operators import PatientState, replace
from hygeia.privacy.phi import DeidResult, PhiSpan

__all__ = ["Deidentifier", "deidentify", "detect_phi", "detect_phi_batch"]


def _check_texts(texts: object) -> list[str]:
    if isinstance(texts, (str, bytes)) or not isinstance(texts, Sequence):
        raise DeidError("expected a list of note texts; wrap a single note as [text]")
    for i, text in enumerate(texts):
        _check_text(text, f"note {i}")
    return list(texts)


def _check_text(text: object, what: str = "the note") -> str:
    if isinstance(text, bytes):
        raise DeidError(f"{what} is bytes, not text; decode it first, e.g. data.decode('utf-8')")
    if not isinstance(text, str):
        raise DeidError(f"{what} must be a str, got {type(text).__name__}; pass the note's text")
    return text


def detect_phi_batch(texts: Sequence[str], known_names: Sequence[set[str]] | None = None, *,
                     workers: int = 1) -> list[list[PhiSpan]]:
    """PHI spans for each text (one spaCy ``nlp.pipe`` pass over the batch; fastest for many notes).

    ``known_names`` (optional, one set per text) are name words found earlier for the same patient:
    their occurrences are marked too. ``workers`` > 1 splits a large batch over that many processes.
    """
    from hygeia.privacy.deid.analyzer import analyze_parallel
    from hygeia.privacy.deid.lexicon import lexicon
    from hygeia.privacy.deid.resolve import merge, propagate, to_spans

    texts = _check_texts(texts)
    if known_names is not None and len(known_names) != len(texts):
        raise DeidError(f"known_names has {len(known_names)} entries for {len(texts)} texts; give one set per text")
    out: list[list[PhiSpan]] = [[] for _ in texts]
    todo = [i for i, text in enumerate(texts) if text.strip()]
    if not todo:
        return out
    lex = lexicon()
    for i, results in zip(todo, analyze_parallel([texts[i] for i in todo], workers)):
        known = known_names[i] if known_names is not None else ()
        out[i] = propagate(texts[i], merge(texts[i], to_spans(texts[i], results)), lex, known)
    return out


def detect_phi(text: str) -> list[PhiSpan]:
    """The identifiers in ``text``: :class:`PhiSpan` objects (character offsets, category), in order.

    Empty text gives ``[]``; anything but a ``str`` raises :class:`~hygeia.errors.DeidError`.
    """
    return detect_phi_batch([_check_text(text)])[0]


class Deidentifier:
    """Replaces PHI with surrogates that stay consistent per patient across notes.

    ``key``: the secret that surrogates and date offsets derive from (bytes or str). With the same
    key, the same patient gets the same surrogates in every run; without one, a random key is drawn
    for this object (consistent within it, not reproducible). Keep the key away from the data.

    >>> deid = Deidentifier(key="secret")                                               # doctest: +SKIP
    >>> a = deid.deidentify("KOWALSKI seen 8/14.", patient="p1")                         # doctest: +SKIP
    >>> b = deid.deidentify("Kowalski back on 8/21.", patient="p1")                      # doctest: +SKIP
    >>> a.text, b.text          # same surrogate, dates one week apart still            # doctest: +SKIP
    ('HARTLEY seen 10/2.', 'Hartley back on 10/9.')
    """

    def __init__(self, key: bytes | str | None = None) -> None:
        if key is None:
            key = secrets.token_bytes(32)
        if isinstance(key, str):
            key = key.encode("utf-8")
        if not isinstance(key, bytes) or not key:
            raise DeidError("key must be a non-empty str or bytes; pass a secret, or None for a random one")
        self._key = key
        self._patients: dict[str, PatientState] = {}

    def __repr__(self) -> str:
        return f"Deidentifier(<{len(self._patients)} patients>)"

    def _state(self, patient: str | None) -> PatientState:
        if patient is None:  # an unnamed note is its own patient
            return PatientState(self._key, "anon:" + secrets.token_hex(8))
        if not isinstance(patient, str) or not patient:
            raise DeidError(f"patient must be a non-empty str id, got {type(patient).__name__}; "
                            "pass the patient's id (it is used only to derive surrogates) or None")
        if patient not in self._patients:
            self._patients[patient] = PatientState(self._key, patient)
        return self._patients[patient]

    def deidentify(self, text: str, *, patient: str | None = None) -> DeidResult:
        """``text`` with every identifier replaced; see :class:`DeidResult`."""
        return self.deidentify_batch([_check_text(text)], patients=[patient])[0]

    def deidentify_batch(self, texts: Sequence[str], *, patients: Sequence[str | None] | None = None,
                         workers: int = 1) -> list[DeidResult]:
        """Many notes at once (one spaCy pass); ``patients`` gives each note's patient id (or None);
        ``workers`` > 1 detects over that many processes."""
        texts = _check_texts(texts)
        patients = list(patients) if patients is not None else [None] * len(texts)
        if len(patients) != len(texts):
            raise DeidError(f"got {len(patients)} patient ids for {len(texts)} texts; give one per text (or None)")
        states = [self._state(p) for p in patients]
        # earlier notes of a patient name people that a later note may mention without any cue
        spans_per_text = detect_phi_batch(texts, known_names=[s.known_names for s in states], workers=workers)
        return [self._replace(t, spans, state, patient)
                for t, spans, state, patient in zip(texts, spans_per_text, states, patients)]

    def _replace(self, text: str, spans: list[PhiSpan], state: PatientState, patient: str | None) -> DeidResult:
        from hygeia.privacy.deid.lexicon import lexicon
        from hygeia.privacy.deid.resolve import name_words

        pieces: list[str] = []
        surrogates: dict[str, str] = {}
        last = 0
        for span in spans:
            original = text[span.start:span.end]
            surrogate = replace(span.category, original, state)
            pieces += [text[last:span.start], surrogate]
            last = span.end
            if surrogate != original:
                surrogates.setdefault(surrogate, original)
        pieces.append(text[last:])
        state.known_names |= name_words(spans, lexicon())
        return DeidResult("".join(pieces), tuple(spans), surrogates, patient)


_default: Deidentifier | None = None


def deidentify(text: str, *, patient: str | None = None, key: bytes | str | None = None) -> DeidResult:
    """Replace the PHI in ``text`` with surrogates (see :class:`Deidentifier`).

    Without ``key``, one process-wide :class:`Deidentifier` with a random key serves every call, so
    a patient's surrogates agree across calls in this process; with ``key`` they agree across runs.
    """
    global _default
    if key is not None:
        return Deidentifier(key).deidentify(text, patient=patient)
    if _default is None:
        _default = Deidentifier()
    return _default.deidentify(text, patient=patient)

