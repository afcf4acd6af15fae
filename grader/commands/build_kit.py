"""``w2v-grader build-kit``: the students' self-check kit, without the solution (:mod:`grader.kit.build`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

GROUP = "staff"
EXAMPLE = "w2v-grader build-kit --out dist"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "build-kit", help="build the students' self-check kit (no solution inside)",
        description="Build the wheel students install to run `w2v-grader check`: visible tests' expected values "
                    "and speed calibration, no reference solution, no hidden expected values.")
    parser.add_argument("--out", type=Path, default=Path("."),
                        help="folder to write the kit's wheel into (default: the current folder), "
                             "or the wheel's exact file name")
    parser.add_argument("--rubric", type=Path, default=None, help="rubric TOML (default: the bundled one)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from grader.kit.build import build_kit
    from grader.packaging import BuildError

    try:
        info = build_kit(args.out, rubric_path=args.rubric)
    except BuildError as exc:
        print(f"build-kit: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {info['path']}: {info['entries']} files, expected values of {info['expected_calls']} visible calls, "
          f"speed calibration of {len(info['speed_scale'])} timed calls ({info['seconds']:.0f} s)")
    print(f"Students install it with:  pip install {info['path'].name}   and run:  w2v-grader check")
    return 0
