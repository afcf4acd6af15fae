"""``w2v-grader batch INPUT --out DIR [-j N] [--resume] [--rubric FILE] [--scheduler tcp://HOST:PORT]``.

Grade a whole class: a Gradescope "Export Submissions" folder or zip, a
folder of per-student folders, or a folder of per-student zips.  Writes
DIR/index.html (class dashboard), DIR/<student>/report.html and
results.json, DIR/grades.csv and DIR/results.jsonl.  See docs/batch.md.

Exit status: 0 every submission graded; 1 some grader-side failures (see
grades.csv / the dashboard); 2 usage error (unknown layout, bad rubric,
busy output folder); 130 stopped by Ctrl-C (finished results are kept;
run again with --resume).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

GROUP = "instructors"
EXAMPLE = "w2v-grader batch export.zip --out grades/ -j 2"


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "batch",
        help="grade a whole class in parallel (resumable), with a gradebook and a class dashboard",
        description=__doc__.split("\n\n")[1],
        epilog="Exit status: 0 all graded, 1 grader-side failures, 2 usage error, 130 interrupted.",
    )
    parser.add_argument("input", type=Path, metavar="INPUT",
                        help="Gradescope export (folder or zip), folder of student folders, or folder of zips")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder (created if needed)")
    parser.add_argument("-j", "--jobs", type=_jobs, default=None, metavar="N",
                        help="submissions graded at once on this machine (default: one per core)")
    parser.add_argument("--resume", action="store_true",
                        help="keep results in DIR whose submission, rubric and grader version are unchanged; "
                             "grade only what is missing, changed or failed")
    parser.add_argument("--rubric", type=Path, metavar="FILE", help="rubric TOML (default: the bundled one)")
    parser.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                        help="run on this Dask distributed scheduler instead of local processes "
                             "(needs dask[distributed]; workers need w2v-grader installed)")
    parser.add_argument("--connect-timeout", type=float, default=20.0, metavar="SECONDS",
                        help="how long to try reaching the --scheduler (default 20)")
    parser.add_argument("--quiet", action="store_true", help="no progress output (the final summary is still printed)")
    parser.add_argument("--progress", choices=("auto", "bar", "lines", "none"), default="auto",
                        help="progress display: a bar on a terminal, one line per submission otherwise (default auto)")
    parser.add_argument("--no-speed-lock", action="store_true",
                        help="let speed measurements of different submissions overlap (faster, less fair)")
    parser.add_argument("--no-recheck", action="store_true",
                        help="do not grade again alone, at the end, submissions that hit a time limit "
                             "while sharing the machine")
    parser.add_argument("--speed-slots", type=_jobs, default=None, metavar="N",
                        help="speed measurements allowed at once per machine (default: half its cores, at least 1)")
    parser.add_argument("--speed-lock-file", metavar="FILE",
                        help="lock file serialising speed measurements (default: one per machine in its temp dir)")
    parser.add_argument("--allow-weak-isolation", action="store_true",
                        help="grade even where student code could read the grader's secrets (no mount namespace: "
                             "not root, or not Linux); reports and the dashboard say so")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from grader.batch import BatchError, BatchOptions, LayoutError, run_batch
    from grader.rubric import RubricError

    options = BatchOptions(out_dir=args.out, jobs=args.jobs, resume=args.resume, rubric_path=args.rubric,
                           scheduler=args.scheduler,
                           connect_timeout=args.connect_timeout, quiet=args.quiet, progress=args.progress,
                           speed_lock_path=args.speed_lock_file, use_speed_lock=not args.no_speed_lock,
                           speed_slots=args.speed_slots,
                           recheck_timeouts=not args.no_recheck,
                           allow_weak_isolation=args.allow_weak_isolation)
    if args.scheduler:
        try:
            import distributed  # noqa: F401
        except ImportError:
            print("w2v-grader batch: --scheduler needs Dask: pip install 'w2v-grader[dask]'", file=sys.stderr)
            return 2
    try:
        summary = run_batch(args.input, options)
    except KeyboardInterrupt:  # before grading started (reading the input): nothing to keep
        print("w2v-grader batch: interrupted", file=sys.stderr)
        return 130
    except (LayoutError, RubricError, BatchError) as exc:
        print(f"w2v-grader batch: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        if args.scheduler:
            print(f"w2v-grader batch: cannot reach the Dask scheduler {args.scheduler}: {exc}", file=sys.stderr)
            return 2
        raise
    print(summary.format(), flush=True)
    return summary.exit_code
