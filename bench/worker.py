"""One timed fit + sample in a fresh process: ``python -m bench.worker TABLE METHOD SEED OUT.pkl``.

A fresh process per run keeps one method's imports, caches and threads from flattering or
slowing the next, and makes its peak RSS its own. Prints one JSON line with the timings.
"""

from __future__ import annotations

import argparse
import importlib
import json
import resource
import sys
import time
import warnings


def _rss_mb() -> float:
    # ru_maxrss is the process's peak resident set size, in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("table")
    parser.add_argument("method")
    parser.add_argument("seed", type=int)
    parser.add_argument("out")
    parser.add_argument("--ctgan-epochs", type=int, required=True)
    parser.add_argument("--tvae-epochs", type=int, required=True)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")  # peers warn about detected metadata on every call

    from bench import tables
    from bench.methods import build_methods

    method = build_methods({"ctgan": args.ctgan_epochs, "tvae": args.tvae_epochs})[args.method]
    train_ds, train, _, _ = tables.split(args.table, args.seed)
    n = len(train)
    for module in method.imports:
        importlib.import_module(module)
    baseline = _rss_mb()
    started = time.perf_counter()
    synthetic = method.run(train_ds, train, n, args.seed, method.params)
    seconds = time.perf_counter() - started
    synthetic.to_pickle(args.out)
    print(json.dumps({"seconds": seconds, "rows": n, "synthetic_rows": len(synthetic),
                      "baseline_rss_mb": baseline, "peak_rss_mb": _rss_mb()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
