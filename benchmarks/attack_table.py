"""The attack suite, graded by this checkout's engine and (``--before DIR``) by another checkout's, side by side.

Every ``submissions/attack_*`` sample (and, with ``--hostile``, the older ``hostile_*`` ones) is graded
with ``w2v-grader grade --json`` of each checkout (its own ``.venv``), as a whole command; the table
shows the score, whether results.json was written, the exit code and the tests that lost points.

Usage: python benchmarks/attack_table.py [--before ../before] [--hostile] [--markdown]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def grade(checkout: Path, sample: Path, out: Path) -> dict:
    """Grade ``sample`` with ``checkout``'s CLI; score, exit code and the tests below full points."""
    json_path = out / f"{checkout.name}-{sample.name}.json"
    proc = subprocess.run([str(checkout / ".venv" / "bin" / "w2v-grader"), "grade", str(sample), "--json",
                           str(json_path)], capture_output=True, text=True, timeout=900, cwd=out)
    row = {"exit": proc.returncode, "score": None, "lost": [], "results": json_path.exists()}
    if json_path.exists():
        try:
            data = json.loads(json_path.read_text(encoding="utf-8"))
        except ValueError:
            row["results"] = False
            return row
        row["score"] = data.get("score")
        row["lost"] = sorted(t.get("extra_data", {}).get("test_id", t.get("name", "?")) for t in data.get("tests", [])
                             if t.get("score", 0) < t.get("max_score", 0))
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, help="another checkout (with its .venv) to grade the same samples")
    parser.add_argument("--hostile", action="store_true", help="also the hostile_* samples")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args(argv)
    patterns = ["attack_*"] + (["hostile_*"] if args.hostile else [])
    samples = sorted(p for pattern in patterns for p in (REPO / "submissions").glob(pattern) if p.is_dir())
    checkouts = ([args.before.resolve()] if args.before else []) + [REPO]
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        for sample in samples:
            cells = [grade(c, sample, Path(tmp)) for c in checkouts]
            rows.append((sample.name, cells))
            line = "  ".join(f"{c['score'] if c['score'] is not None else 'no results.json':>8} (exit {c['exit']})"
                             for c in cells)
            print(f"{sample.name:28s} {line}", flush=True)
    if args.markdown:
        heads = (["before", "after"] if args.before else ["score"])
        print("\n| sample | " + " | ".join(heads) + " | tests below full points (last) |")
        print("|---|" + "---|" * len(heads) + "---|")
        for name, cells in rows:
            scores = [f"{c['score']:.2f}" if c["score"] is not None else "no results.json" for c in cells]
            print(f"| `{name}` | " + " | ".join(scores) + f" | {', '.join(cells[-1]['lost']) or '—'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
