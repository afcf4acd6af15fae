"""``w2v-grader build-autograder``: the zip to upload as a Gradescope autograder (:mod:`grader.gradescope.build_autograder`).

Also ``python -m grader.commands.build_autograder`` (what the Dockerfile runs in a plain Python
image): this module and the builder import only the standard library and :mod:`grader.rubric`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional

GROUP = "staff"
EXAMPLE = "w2v-grader build-autograder --out autograder.zip"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``build-autograder`` sub-command."""
    parser = subparsers.add_parser(
        "build-autograder",
        help="build the Gradescope autograder zip (setup.sh, run_autograder, grader, reference, rubric)",
        description=(
            "Build the zip to upload in Gradescope's 'Configure Autograder' page: setup.sh and "
            "run_autograder at its root, the grader package, the reference solution, the rubric and "
            "the pinned requirements; no tests and no sample submissions. The zip is deterministic."
        ),
    )
    _add_arguments(parser)
    parser.set_defaults(func=run)


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("autograder.zip"),
                        help="where to write the zip (default: autograder.zip)")
    parser.add_argument("--rubric", type=Path, default=None,
                        help="rubric TOML to grade with (default: grader/rubric_default.toml)")


def run(args: argparse.Namespace) -> int:
    """Build the zip; 0 on success, 2 if the rubric or a source file is unusable."""
    from grader.gradescope.build_autograder import build_autograder
    from grader.packaging import BuildError

    try:
        info = build_autograder(Path(args.out), rubric_path=args.rubric)
    except BuildError as exc:
        print(f"build-autograder: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.out} ({info['entries']} files, rubric {info['rubric_name']!r}, "
          f"{info['max_score']:g} points, budget {info['budget_seconds']:g} s)")
    for warning in info["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def main(argv: Optional[list[str]] = None) -> int:
    """``python -m grader.commands.build_autograder``: same as the sub-command (used by the Dockerfile)."""
    parser = argparse.ArgumentParser(prog="python -m grader.commands.build_autograder",
                                     description="Build the Gradescope autograder zip.")
    _add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
