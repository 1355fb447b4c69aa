"""Writes sample/homes.csv: 400 generated homes whose price is mostly area (seeded, so the file
and its checksum never change). From the repository root:
python -m tests.support.tiny.make_sample
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SAMPLE = Path(__file__).parent / "sample" / "homes.csv"


def main() -> None:
    rng = np.random.default_rng(12)
    n = 400
    area = rng.uniform(30, 250, n).round(1)
    rooms = np.clip((area / 30).round() + rng.integers(-1, 2, n), 1, 9).astype(int)
    age = rng.integers(0, 120, n).astype(float)
    age[rng.random(n) < 0.05] = np.nan
    price = (3000 * area + 8000 * rooms - 400 * np.nan_to_num(age, nan=60)
             + rng.normal(0, 15_000, n) + 50_000).round(-2)
    pd.DataFrame({"area": area, "rooms": rooms, "age": age, "price": price}).to_csv(
        SAMPLE, index=False)


if __name__ == "__main__":
    main()
