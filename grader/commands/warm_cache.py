"""``w2v-grader warm-cache [--rubric FILE]``: precompute the reference's expected values.

Grading needs the reference's outputs on every test input; they are computed once
and cached (``W2V_CACHE_DIR``, default ``~/.cache/w2v-grader``).  Run this at image
build time (Gradescope's ``setup.sh``) so no submission pays for it.  The cache holds
expected values of hidden tests: keep it where student code cannot read it (the
sandbox never mounts it).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from grader.commands._common import help_text, load_rubric_or_report

GROUP = "internal"
EXAMPLE = "w2v-grader warm-cache   (setup.sh runs it when the image is built)"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("warm-cache", help="precompute the reference's expected values for a rubric",
                                   **help_text(__doc__))
    parser.add_argument("--rubric", type=Path, metavar="FILE", help="rubric TOML (default: the bundled one)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import shutil

    from grader.expected.cache import cache_dir
    from grader.expected.outcomes import reference_files
    from grader.pipeline import grade_submission

    rubric = load_rubric_or_report(args.rubric)
    if rubric is None:
        return 2
    no_speed = rubric.__class__(**{**rubric.__dict__, "tests": tuple(t for t in rubric.tests if t.check != "speed")})
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in reference_files().items():
            shutil.copyfile(path, Path(tmp) / name)
        result = grade_submission(Path(tmp), no_speed)
    if result.internal_error or result.score < no_speed.max_score:
        print(f"w2v-grader: the reference did not pass its own tests ({result.score}/{no_speed.max_score})",
              file=sys.stderr)
        return 3
    print(f"expected values cached in {cache_dir()} ({result.execution_time:.1f} s)")
    return 0
