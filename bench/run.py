"""Run the benchmark: `python -m bench.run` (what `make bench` calls) from the repository root.

Phase 1 times every fit + sample, one at a time: each (table, method) gets a fresh worker
process that fits every seed in turn (nothing else of this benchmark runs meanwhile). Phase 2
scores the synthetic tables, ``--jobs`` at a time (the scores are not timed). Then the output
folder gets results.csv, results.md and quality_vs_time.png.

Development: ``python -m bench.run --quick`` fits every method once on the smallest table with
few epochs (each Hygeia family's ``quick_params``) and writes to a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import pickle
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from bench import tables
from bench.methods import DEFAULT_EPOCHS, HYGEIA_MAX_TIME, Settings, build_methods
from bench.report import environment, write_results

ROOT = Path(__file__).resolve().parent.parent
#: `make bench` must end within 60 minutes on 2 cores: fits stop being started after this many
#: minutes (the rest are reported as not run), which leaves time for the scoring phase. The full
#: line-up (six Hygeia families and four peers, three tables, three seeds) fitted in 44.5 minutes here.
DEFAULT_FIT_BUDGET_MIN = 50.0


def _write_splits(table_names: list[str], seeds: list[int], folder: Path) -> None:
    """Pickle each (table, seed) split once, so workers neither re-split nor import Hygeia's governance."""
    for table in table_names:
        for seed in seeds:
            train_ds, train, _, _ = tables.split(table, seed)
            with open(folder / f"{table}-{seed}.pkl", "wb") as fh:
                pickle.dump({"train_ds": train_ds, "train": train}, fh)


def _run_worker(table: str, method: str, seeds: list[int], tmp: Path, settings: Settings,
                timeout: float, deadline: float) -> Iterator[dict[str, Any]]:
    """Yield one result per seed as the worker reports it; seeds it never reported come back as errors."""
    cmd = [sys.executable, "-m", "bench.worker", table, method, "--seeds", *map(str, seeds), "--splits", str(tmp),
           "--out", str(tmp), "--settings", json.dumps(settings.to_json()), "--timeout", str(timeout),
           "--deadline", str(deadline)]
    threads = str(settings.threads)  # BLAS and OpenMP pools get the same count as torch
    env = {**os.environ, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads,
           "TOKENIZERS_PARALLELISM": "false"}
    with subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) as proc:
        # The worker times each seed itself; this kill is the backstop for a fit stuck in native code.
        killed: list[bool] = []
        killer = threading.Timer(len(seeds) * timeout + 120, lambda: (killed.append(True), proc.kill()))
        killer.start()
        stderr: list[str] = []
        reader = threading.Thread(target=lambda: stderr.extend(proc.stderr), daemon=True)  # no pipe deadlock
        reader.start()
        reported = set()
        try:
            for line in proc.stdout:
                if line.startswith("{"):
                    result = json.loads(line)
                    reported.add(result["seed"])
                    yield result
            proc.wait()
        finally:
            killer.cancel()
        reader.join(timeout=5)
    lines = [ln.strip() for ln in stderr if ln.strip()]
    why = lines[-1][:300] if lines else f"worker exit code {proc.returncode}"
    if killed:
        why = f"worker killed after {len(seeds) * timeout + 120:.0f} s (stuck past the per-fit timeout)"
    for seed in seeds:
        if seed not in reported:
            yield {"seed": seed, "error": why}


def _score_task(table: str, seed: int, path: str | None) -> dict[str, float]:
    from bench import scoring

    if path is None:
        return scoring.score_holdout(table, seed)
    return scoring.score(table, seed, pd.read_pickle(path))


def _parser(names: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"development run: table {tables.QUICK_TABLE}, seed 0, few epochs, output in a temp "
                             "folder")
    parser.add_argument("--tables", nargs="+", choices=list(tables.TABLES),
                        help=f"default: {' '.join(tables.DEFAULT_TABLES)}")
    parser.add_argument("--methods", nargs="+", default=names, choices=names, metavar="METHOD",
                        help="default: all of " + ", ".join(names))
    parser.add_argument("--seeds", nargs="+", type=int, help="default: 0 1 2 (0 with --quick)")
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)),
                        help="torch/BLAS threads of every method (default: every core this process may use)")
    parser.add_argument("--ctgan-epochs", type=int, default=DEFAULT_EPOCHS["ctgan"])
    parser.add_argument("--tvae-epochs", type=int, default=DEFAULT_EPOCHS["tvae"])
    parser.add_argument("--hygeia-max-time", type=float, default=HYGEIA_MAX_TIME,
                        help="training seconds (max_time) of Hygeia's neural families; 0 = their defaults")
    parser.add_argument("--mostly-max-time", type=float, default=0,
                        help="training seconds of MOSTLY AI's TabularARGN; 0 = its default")
    parser.add_argument("--timeout", type=float, default=240,
                        help="seconds one fit + sample may take; past it the fit is stopped and the method is not "
                             "retried on that table's other seeds")
    parser.add_argument("--fit-budget", type=float, default=DEFAULT_FIT_BUDGET_MIN,
                        help="minutes after which no new fit starts")
    parser.add_argument("--jobs", type=int, default=2, help="scoring processes at a time")
    parser.add_argument("--out", type=Path, help="default: bench/results (a temp folder with --quick)")
    return parser


def main(argv: list[str] | None = None) -> int:
    names = list(build_methods(Settings(threads=1)))
    args = _parser(names).parse_args(argv)
    table_names = args.tables or ([tables.QUICK_TABLE] if args.quick else list(tables.DEFAULT_TABLES))
    seeds = args.seeds or ([0] if args.quick else [0, 1, 2])
    out_dir = args.out or (Path(tempfile.gettempdir()) / "hygeia-bench-quick" if args.quick
                           else ROOT / "bench" / "results")
    settings = Settings(threads=args.threads, quick=args.quick, ctgan_epochs=args.ctgan_epochs,
                        tvae_epochs=args.tvae_epochs, hygeia_max_time=args.hygeia_max_time or None,
                        mostly_max_time=args.mostly_max_time or None)
    methods = {k: m for k, m in build_methods(settings).items() if k in args.methods}

    started, load_start = time.perf_counter(), os.getloadavg()
    deadline = time.time() + args.fit_budget * 60  # no fit starts after it (the workers check it per seed)
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    # Table, then method, every seed in one worker: the library is imported once per table, not per seed.
    plan = [(t, m) for t in table_names for m in methods]
    print(f"{len(plan) * len(seeds)} fits: tables {', '.join(table_names)}; seeds {seeds}; {len(methods)} methods; "
          f"{settings.threads} threads; results in {out_dir}", flush=True)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="hygeia-bench-") as tmp_name:
        tmp = Path(tmp_name)
        _write_splits(table_names, seeds, tmp)
        for i, (table, name) in enumerate(plan, 1):
            m = methods[name]
            if time.time() > deadline:
                why = "not run: the run's fitting budget was spent"
                results: Iterator[dict[str, Any]] = iter([{"seed": s, "error": why} for s in seeds])
            else:
                results = _run_worker(table, name, seeds, tmp, settings, args.timeout, deadline)
            for result in results:
                seed = result.pop("seed")
                path = tmp / f"{table}-{seed}-{name}.pkl"
                rows.append({"table": table, "seed": seed, "method": name, "label": m.label, "library": m.library,
                             **result, "path": str(path) if "error" not in result else None})
                shown = (f"{result['seconds']:7.2f} s wall {result['cpu_seconds']:7.2f} s CPU "
                         f"{result['peak_rss_mb']:5.0f} MB" if "error" not in result else f"FAILED: {result['error']}")
                print(f"[{time.perf_counter() - started:6.0f} s] {i:3}/{len(plan)} {table:8} seed {seed} {name:28} "
                      f"{shown}", flush=True)
        fit_seconds = time.perf_counter() - started

        tasks = [(r["table"], r["seed"], r["path"]) for r in rows if r["path"]]
        references = [(t, s, None) for t in table_names for s in seeds]
        scores = []
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            futures = [pool.submit(_score_task, *task) for task in tasks + references]
            for task, future in zip(tasks + references, futures):
                try:
                    scores.append(future.result())
                except Exception as exc:  # noqa: BLE001  (a scoring failure is reported, not fatal for the other rows)
                    scores.append({"score_error": f"{type(exc).__name__}: {exc}"[:300]})
                print(f"[{time.perf_counter() - started:6.0f} s] scored {task[0]} seed {task[1]} "
                      f"{Path(task[2]).stem.split('-', 2)[-1] if task[2] else 'real holdout'}", flush=True)
    scored = iter(scores)
    for row in rows:
        if row.pop("path"):
            row.update(next(scored))
    for table, seed, _ in references:
        rows.append({"table": table, "seed": seed, "method": "real_holdout", "label": "real holdout (ceiling)",
                     "library": "reference", **next(scored)})

    total = time.perf_counter() - started
    env = environment(date=date, total_seconds=total, fit_phase_seconds=fit_seconds, load_start=load_start,
                      load_end=os.getloadavg(), seeds=seeds, settings=settings, quick=args.quick,
                      timeout=args.timeout, fit_budget=args.fit_budget)
    write_results(pd.DataFrame(rows), methods, env, out_dir)
    print(f"benchmark finished in {total:.0f} s; results in {out_dir}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
