"""Run the benchmark: `python -m bench.run` (what `make bench` calls) from the repository root.

Phase 1 times every fit + sample, one at a time, each in a fresh worker process (nothing else
of this benchmark runs meanwhile). Phase 2 scores the synthetic tables, two at a time (the
scores are not timed). Then bench/results/ gets results.csv, results.md and quality_vs_time.png.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from bench import tables
from bench.methods import DEFAULT_EPOCHS, build_methods
from bench.report import environment, write_results

ROOT = Path(__file__).resolve().parent.parent


def _fit_in_worker(table: str, method: str, seed: int, out: Path, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench.worker", table, method, str(seed), str(out),
           "--ctgan-epochs", str(args.ctgan_epochs), "--tvae-epochs", str(args.tvae_epochs)]
    try:
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=args.timeout,
                              check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {args.timeout} s"}
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
        return {"error": (lines[-1] if lines else f"exit code {proc.returncode}")[:300]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _score_task(table: str, seed: int, path: str | None) -> dict[str, float]:
    from bench import scoring

    if path is None:
        return scoring.score_holdout(table, seed)
    return scoring.score(table, seed, pd.read_pickle(path))


def main(argv: list[str] | None = None) -> int:
    methods_all = build_methods()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", nargs="+", default=list(tables.TABLES), choices=list(tables.TABLES))
    parser.add_argument("--methods", nargs="+", default=list(methods_all), choices=list(methods_all))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--ctgan-epochs", type=int, default=DEFAULT_EPOCHS["ctgan"])
    parser.add_argument("--tvae-epochs", type=int, default=DEFAULT_EPOCHS["tvae"])
    parser.add_argument("--timeout", type=int, default=420, help="seconds one fit + sample may take")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    methods = build_methods({"ctgan": args.ctgan_epochs, "tvae": args.tvae_epochs})

    started, load_start = time.perf_counter(), os.getloadavg()
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="hygeia-bench-") as tmp:
        # Table, then seed, then method: machine noise over the run spreads across methods alike.
        for table in args.tables:
            for seed in args.seeds:
                for name in args.methods:
                    out = Path(tmp) / f"{table}-{seed}-{name}.pkl"
                    result = _fit_in_worker(table, name, seed, out, args)
                    m = methods[name]
                    rows.append({"table": table, "seed": seed, "method": name, "label": m.label,
                                 "library": m.library, **result, "path": str(out) if "error" not in result else None})
                    shown = f"{result['seconds']:.2f} s" if "error" not in result else f"FAILED: {result['error']}"
                    elapsed = time.perf_counter() - started
                    print(f"[{elapsed:6.0f} s] fit+sample {table:8} seed {seed} {name:24} {shown}", flush=True)
        fit_seconds = time.perf_counter() - started

        tasks = [(r["table"], r["seed"], r["path"]) for r in rows if r["path"]]
        references = [(t, s, None) for t in args.tables for s in args.seeds]
        with ProcessPoolExecutor(max_workers=2) as pool:
            futures = [pool.submit(_score_task, *task) for task in tasks + references]
            scores = []
            for task, future in zip(tasks + references, futures):
                try:
                    scores.append(future.result())
                except Exception as exc:  # noqa: BLE001  (a scoring failure is reported, not fatal for the other rows
                    scores.append({"score_error": f"{type(exc).__name__}: {exc}"[:300]})
                print(f"[{time.perf_counter() - started:6.0f} s] scored {task[0]} seed {task[1]} "
                      f"{Path(task[2]).stem if task[2] else 'real holdout'}", flush=True)
    scored = iter(scores)
    for row in rows:
        if row.pop("path"):
            row.update(next(scored))
    for table, seed, _ in references:
        rows.append({"table": table, "seed": seed, "method": "real_holdout", "label": "real holdout (ceiling)",
                     "library": "reference", **next(scored)})

    total = time.perf_counter() - started
    env = environment(date=date, total_seconds=total, fit_phase_seconds=fit_seconds,
                      load_start=load_start, load_end=os.getloadavg(), seeds=args.seeds,
                      epochs={"ctgan": args.ctgan_epochs, "tvae": args.tvae_epochs})
    write_results(pd.DataFrame(rows), methods, env, args.out)
    print(f"benchmark finished in {total:.0f} s; results in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
