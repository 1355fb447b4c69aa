"""Time to refuse a hostile Bengaluru area text, against the pattern it replaced.

The hostile value is "1" + n spaces + "!" (issue 13, item 1): it cannot parse, so a
backtracking pattern tries every split of the space run before giving up. The peer is the
unit pattern homeprice used until commit 199987d, `^\\s*(number)\\s*([A-Za-z. ]+?)\\s*$`, run
with Python's `re` on the raw text exactly as before; homeprice is today's `parse_sqft` (length
limit lifted, so the linear pattern itself is measured, not the early refusal). The ratio is the
peer's time over homeprice's.

    .venv/bin/python benchmarks/hostile_text.py [--spaces 250 500 1000]
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Callable
from unittest import mock

from rich.console import Console
from rich.table import Table

from homeprice.datasets.bengaluru import parsing

_NUMBER = r"\d+(?:\.\d*)?|\.\d+"
# The peer: the pattern of 199987d^ (src/homeprice/datasets/bengaluru/parsing.py).
PEER_WITH_UNIT = re.compile(rf"^\s*({_NUMBER})\s*([A-Za-z. ]+?)\s*$")


def seconds(fn: Callable[[str], object], text: str, repeat: int) -> float:
    """Best of `repeat` wall times of fn(text): the least disturbed run on a shared machine."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn(text)
        best = min(best, time.perf_counter() - start)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spaces", type=int, nargs="+", default=[250, 500, 1000],
                        help="lengths of the space run (the peer's time grows ~ n^3)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    table = Table(title="refusing '1' + n spaces + '!' (best of runs)")
    for column in ("spaces", "peer: old pattern (ms)", "homeprice parse_sqft (ms)", "ratio"):
        table.add_column(column, justify="right")
    # Lift the length limit so today's parser really runs its patterns on the whole text.
    with mock.patch.object(parsing, "MAX_TEXT_LENGTH", 10**9):
        for n in args.spaces:
            text = "1" + " " * n + "!"
            peer = seconds(PEER_WITH_UNIT.match, text, args.repeat)
            ours = seconds(parsing.parse_sqft, text, args.repeat)
            table.add_row(str(n), f"{peer * 1e3:.2f}", f"{ours * 1e3:.3f}", f"{peer / ours:,.0f}x")
    Console().print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
