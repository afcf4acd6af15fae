"""``w2v-grader verify-reference``: prove the reference's gradients and check its numbers."""

from __future__ import annotations

import argparse

GROUP = "staff"
EXAMPLE = "w2v-grader verify-reference"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``verify-reference`` sub-command."""
    parser = subparsers.add_parser(
        "verify-reference",
        help="prove every gradient of the reference solution with sympy and compare numerically",
        description=(
            "Derive every gradient the reference word2vec uses with sympy from the handout's loss "
            "definitions, prove it equals the implemented closed form, and compare with "
            "reference/word2vec.py at random points. Exit status 1 if any row fails."
        ),
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random evaluation points (default 0)")
    parser.add_argument("--points", type=int, default=5, help="random points per derivation (default 5)")
    parser.add_argument(
        "--no-self-check", action="store_true", help="skip the check that wrong closed forms are rejected"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the verification, print the table; 0 if everything holds, else 1."""
    import sys

    from grader.verify_reference import format_report, run_verification

    try:
        report = run_verification(seed=args.seed, points=args.points, self_check=not args.no_self_check)
    except ImportError as exc:
        print(f"verify-reference: cannot import the reference solution: {exc}", file=sys.stderr)
        return 1
    print(format_report(report))
    return 0 if report.ok else 1
