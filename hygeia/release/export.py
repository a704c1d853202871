"""Write release folders: data in CSV and Parquet, and a manifest with the SHA-256 of every file."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd

from hygeia.data.dataset import file_sha256

MANIFEST = "manifest.json"


def write_table(frame: pd.DataFrame, folder: Path, stem: str = "synthetic") -> list[Path]:
    """CSV for everyone, Parquet for typed analysis."""
    csv_path, parquet_path = folder / f"{stem}.csv", folder / f"{stem}.parquet"
    frame.to_csv(csv_path, index=False)
    frame.to_parquet(parquet_path, index=False)
    return [csv_path, parquet_path]


def write_manifest(folder: Path, meta: dict[str, Any]) -> dict[str, Any]:
    """Hash every file under ``folder`` (except the manifest itself) into ``manifest.json``."""
    files = {p.relative_to(folder).as_posix(): {"sha256": file_sha256(p), "bytes": p.stat().st_size}
             for p in sorted(folder.rglob("*")) if p.is_file() and p.name != MANIFEST}
    manifest = {**meta, "files": files}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
    return manifest


def verify_manifest(folder: Path) -> list[str]:
    """Names of files whose content no longer matches the manifest (missing ones included)."""
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    bad = []
    for name, info in manifest["files"].items():
        path = folder / name
        if not path.is_file() or file_sha256(path) != info["sha256"]:
            bad.append(name)
    return bad


def zip_folder(folder: Path, prefix: str) -> bytes:
    """Every file under ``folder`` in one zip, below ``prefix/`` (a release download keeps its manifest inside)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, f"{prefix}/{path.relative_to(folder).as_posix()}")
    return buffer.getvalue()
