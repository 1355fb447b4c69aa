"""Mutation score per module from mutmut's results (`mutants/**/*.py.meta`), as a table.

Run after `mutmut run` (`make mutation` does both). A mutant counts as killed when a test
failed on it (or it timed out: a mutant that hangs is caught, pytest-timeout's job); the score
is killed / (killed + survived + no tests): a mutant no selected test reaches is a hole in
the tests like a survivor, listed apart so it is clear which kind. Exit status 1 when a
module is below --min (default 0), so CI could enforce it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

KILLED = {1: "killed", 3: "killed", 36: "timeout", 24: "timeout", -24: "timeout",
          152: "timeout", 255: "timeout", 37: "killed"}
SURVIVED = {0: "survived"}
UNREACHED = {5: "no tests", 33: "no tests"}


def outcome(exit_code: int | None) -> str:
    """killed, survived, no tests, or not checked (anything else: mutmut's 'suspicious')."""
    if exit_code is None:
        return "not checked"
    if exit_code in KILLED:
        return "killed"
    if exit_code in SURVIVED:
        return "survived"
    if exit_code in UNREACHED:
        return "no tests"
    return "suspicious"


def scores(root: Path) -> dict[str, Counter[str]]:
    """Module path -> counts of outcomes, for every mutated file under `root` (mutants/)."""
    table: dict[str, Counter[str]] = {}
    for meta in sorted(root.rglob("*.py.meta")):
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        module = str(meta.relative_to(root)).removesuffix(".meta")
        table[module] = Counter(outcome(code) for code in codes.values())
    return table


def main() -> int:
    """Print the table; 1 when a module's score is below --min."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutants", type=Path, default=Path("mutants"))
    parser.add_argument("--min", type=float, default=0.0, help="lowest acceptable score (0-1)")
    args = parser.parse_args()
    table = scores(args.mutants)
    if not table:
        print(f"no mutmut results under {args.mutants}: run `mutmut run` first", file=sys.stderr)
        return 1
    failed = False
    print(f"{'module':55} {'killed':>6} {'surv.':>6} {'no test':>7} {'other':>6} {'score':>6}")
    for module, counts in table.items():
        judged = counts["killed"] + counts["survived"] + counts["no tests"]
        score = counts["killed"] / judged if judged else float("nan")
        other = counts["not checked"] + counts["suspicious"]
        print(f"{module:55} {counts['killed']:6} {counts['survived']:6} {counts['no tests']:7} "
              f"{other:6} {score:6.1%}")
        failed |= not judged or score < args.min
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
