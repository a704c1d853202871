"""Timed fits of one method on one table, every seed in turn, in a fresh process.

``python -m bench.worker TABLE METHOD --seeds 0 1 2 --splits DIR --out DIR --settings JSON --timeout S [--deadline T]``

A fresh process per (table, method) keeps other methods' imports, caches and threads from
flattering or slowing this one, and pays the library's import once rather than per seed (the
import is never timed). The train splits come pickled from the runner, so a worker imports
only pandas, the method's library and what Hygeia's data types need.

Prints one JSON line per seed as soon as it is done: wall seconds, CPU seconds (user + system
of this process and of every child it reaped, so a library that fans out to worker processes
pays for them too) and peak resident memory of that seed's fit + sample.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import pickle
import resource
import signal
import sys
import time
import traceback
import warnings
from pathlib import Path
from typing import Any


class FitTimeout(Exception):
    pass


def _on_alarm(signum: int, frame: Any) -> None:
    raise FitTimeout


def _cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _rss_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (peak since the last reset) of this process, in MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_peak() -> None:
    """Start a new peak-RSS window (Linux: writing 5 to clear_refs resets VmHWM), so each seed has its own."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass  # then VmHWM is the peak of the whole worker so far


def _reap_pools() -> None:
    """Join joblib's reusable worker processes, so their CPU time shows in RUSAGE_CHILDREN."""
    if "joblib.externals.loky" in sys.modules:
        from joblib.externals.loky import get_reusable_executor

        get_reusable_executor().shutdown(wait=True)


def _fit(method: Any, split: dict[str, Any], seed: int, out: Path, timeout: float) -> dict[str, Any]:
    n = len(split["train"])
    _reset_peak()
    baseline, cpu_before = _rss_mb("VmRSS"), _cpu_seconds()
    signal.alarm(max(1, int(timeout)))
    started = time.perf_counter()
    try:
        synthetic = method.run(split["train_ds"], split["train"], n, seed, method.params)
    finally:
        signal.alarm(0)
    seconds = time.perf_counter() - started
    _reap_pools()
    cpu = _cpu_seconds() - cpu_before
    synthetic.to_pickle(out)
    return {"seconds": seconds, "cpu_seconds": cpu, "rows": n, "synthetic_rows": len(synthetic),
            "baseline_rss_mb": baseline, "peak_rss_mb": _rss_mb("VmHWM")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("table")
    parser.add_argument("method")
    parser.add_argument("--seeds", nargs="+", type=int, required=True)
    parser.add_argument("--splits", type=Path, required=True, help="folder of TABLE-SEED.pkl train splits")
    parser.add_argument("--out", type=Path, required=True, help="folder for TABLE-SEED-METHOD.pkl synthetic tables")
    parser.add_argument("--settings", required=True, help="bench.methods.Settings as JSON")
    parser.add_argument("--timeout", type=float, required=True, help="seconds one fit + sample may take")
    parser.add_argument("--deadline", type=float, default=math.inf, help="time.time() after which no seed starts")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")  # peers warn about detected metadata on every call
    signal.signal(signal.SIGALRM, _on_alarm)

    from bench.methods import Settings, get_method

    settings = Settings(**json.loads(args.settings))
    method = get_method(settings, args.method)
    for module in method.imports:
        importlib.import_module(module)
    if "torch" in sys.modules:  # peers use torch's default; every method gets the same thread count
        sys.modules["torch"].set_num_threads(settings.threads)
    given_up = None
    for seed in args.seeds:
        if given_up:
            result: dict[str, Any] = {"error": f"not run: {given_up}"}
        elif time.time() > args.deadline:
            result = {"error": "not run: the run's fitting budget was spent"}
        else:
            with open(args.splits / f"{args.table}-{seed}.pkl", "rb") as fh:
                split = pickle.load(fh)
            try:
                result = _fit(method, split, seed, args.out / f"{args.table}-{seed}-{args.method}.pkl", args.timeout)
            except FitTimeout:
                result = {"error": f"timed out after {args.timeout:g} s"}
                given_up = f"{result['error']} on seed {seed}"
            except Exception as exc:  # noqa: BLE001  (one failed seed is reported; the others still run)
                last = traceback.format_exception_only(exc)[-1].strip()
                result = {"error": last[:300]}
        print(json.dumps({"seed": seed, **result}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
