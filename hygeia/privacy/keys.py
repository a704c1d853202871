"""The de-identification key: surrogates and date shifts derive from it, and it seals the reviewer-only
map from surrogates back to the original identifiers.

The key lives outside the data: ``HYGEIA_DEID_KEY`` (any secret string) or, by default, a random key
created once in ``$HYGEIA_HOME/deid.key`` (mode 0600). The sealed map is useless without it, so a
candidate folder or a release can be copied around without carrying identifiers.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from hygeia.errors import DeidError
from hygeia.store.db import hygeia_home

ENV_KEY = "HYGEIA_DEID_KEY"


def key_path() -> Path:
    return hygeia_home() / "deid.key"


def deid_key() -> bytes:
    """The key from ``HYGEIA_DEID_KEY``, else from ``$HYGEIA_HOME/deid.key`` (created on first use)."""
    given = os.environ.get(ENV_KEY)
    if given:
        return given.encode("utf-8")
    path = key_path()
    if path.is_file():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32).encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs, so both agree
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key


def _fernet(key: bytes) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"hygeia surrogate map").derive(key)
    return Fernet(base64.urlsafe_b64encode(derived))


def seal(payload: dict[str, str], key: bytes) -> bytes:
    """Encrypt and authenticate a JSON-able mapping with a key derived from ``key``."""
    return _fernet(key).encrypt(json.dumps(payload, sort_keys=True).encode("utf-8"))


def unseal(token: bytes, key: bytes) -> dict[str, str]:
    """The mapping sealed by :func:`seal`; a wrong key or a changed file is a :class:`DeidError`."""
    try:
        return json.loads(_fernet(key).decrypt(token).decode("utf-8"))
    except InvalidToken:
        raise DeidError(f"the surrogate map cannot be opened with this key (another {ENV_KEY} or deid.key, or the "
                        "file was changed); use the key the draft was made with") from None
