#!/usr/bin/env python
"""Check the reference solution against two real student training runs.

Runs reference/run.py's training (exact run.py settings) on the shared
Stanford Sentiment Treebank for N iterations (default 5,000) in a temporary
work directory, then reports the max absolute difference between the
resulting saved_params_<N>.npy and ``reference_runs/run_A`` and ``run_B``
(``--shared``/data/reference_runs/run_X/saved_params_<N>.npy; N must be
5000 or 40000), plus the wall time. Exits 1 if any difference exceeds
``--tolerance`` (default 1e-10), 2 if the shared data are missing.

BLAS is limited to one thread (OMP/OPENBLAS/MKL_NUM_THREADS=1 unless
already set): equality does not need it, but the machine is shared and
the 10-dimensional products gain nothing from threads.

Usage: python benchmarks/verify_real_runs.py [--iterations N] [--shared PATH] [--quiet]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SHARED = REPO_ROOT.parent / "shared"
RUNS = ("run_A", "run_B")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=5000,
                        help="SGD iterations; a reference file must exist for it (default 5000)")
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED,
                        help="the shared/ folder (default: %(default)s)")
    parser.add_argument("--tolerance", type=float, default=1e-10,
                        help="max allowed abs difference (default 1e-10)")
    parser.add_argument("--quiet", action="store_true", help="hide the training log")
    return parser.parse_args(argv)


def limit_blas_threads() -> None:
    """Default OMP/OPENBLAS/MKL_NUM_THREADS to 1 (call before numpy is imported)."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")


def load_train():
    """reference/run.py's ``train`` (reference/ is put on sys.path, as for the starter)."""
    sys.path.insert(0, str(REPO_ROOT / "reference"))
    from run import train
    return train


def run_training(dataset: Path, iterations: int, quiet: bool) -> tuple[np.ndarray, float]:
    """Train in a temporary workdir; return (saved_params_<iterations>, wall seconds)."""
    import numpy as np
    train = load_train()
    with tempfile.TemporaryDirectory(prefix="w2v_verify_") as workdir:
        sink = io.StringIO() if quiet else sys.stdout
        start = time.perf_counter()
        with contextlib.redirect_stdout(sink):
            train(str(dataset), iterations, workdir, plot=False)
        wall = time.perf_counter() - start
        params = np.load(Path(workdir) / f"saved_params_{iterations}.npy")
    return params, wall


def main(argv: list[str] | None = None) -> int:
    """Run the check and print a short report; return the exit status."""
    args = parse_args(argv)
    limit_blas_threads()
    import numpy as np
    dataset = args.shared / "data" / "stanfordSentimentTreebank"
    refs = {run: args.shared / "data" / "reference_runs" / run / f"saved_params_{args.iterations}.npy"
            for run in RUNS}
    missing = [str(p) for p in [dataset, *refs.values()] if not p.exists()]
    if missing:
        print("missing shared data: " + ", ".join(missing), file=sys.stderr)
        return 2
    params, wall = run_training(dataset, args.iterations, args.quiet)
    ok = True
    print(f"iterations: {args.iterations}")
    for run, path in refs.items():
        expected = np.load(path)
        if expected.shape != params.shape:
            print(f"{run}: shape {params.shape} != expected {expected.shape}")
            ok = False
            continue
        diff = float(np.max(np.abs(params - expected)))
        ok &= diff <= args.tolerance
        print(f"max abs diff to {run}: {diff:.3e}")
    print(f"wall seconds: {wall:.1f} ({wall / args.iterations * 1000:.1f} ms/iteration)")
    print("PASS" if ok else f"FAIL (tolerance {args.tolerance:g})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
