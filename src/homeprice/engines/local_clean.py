"""The local engine's clean in bounded memory: a dataset's clean plan over a file read in
batches, its whole-dataset rules (duplicates) decided from row hashes kept for every row, so
memory grows by 16 bytes per row and compared column set, not by the rows themselves.

Two passes over the file. The first parses each batch and keeps, per row, which row rules it
breaks and the hashes the duplicate rules compare; between the passes every row's drop reason
is decided in rule order, as `apply_plan` decides it on the whole frame. The second pass parses
each batch again and writes the rows kept, in file order. The result equals
`dataset.clean(read_table(path))` (tests/engines/test_local_clean.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from homeprice.data.parquetstream import parquet_batches
from homeprice.data.sources import iter_table
from homeprice.datasets import Dataset
from homeprice.datasets.rules import CleanPlan, DuplicateRule, RowRule, compared
from homeprice.engines.base import CleanReport, normalise_raw
from homeprice.errors import DataValidationError

# Two 64-bit hashes under different keys make a 128-bit one: a false copy among n rows has
# probability about n**2 / 2**129 (1e-25 for 10M rows), far below a disk's error rate.
HASH_KEYS = ("homeprice-dup-a1", "homeprice-dup-b2")  # pandas wants 16-character keys
KEPT = -1  # the reason code of a row every rule keeps


def row_hashes(frame: pd.DataFrame) -> np.ndarray:
    """A (rows, 2) uint64 hash of each row's values, equal exactly when pandas' `duplicated`
    calls two rows equal, whatever the batch a row was read in: numbers are hashed as float64
    (a Parquet integer column reads as floats only in batches with nulls), with -0.0 as 0.0
    and one NaN."""
    canonical = frame.copy()
    for column in canonical.columns:
        values = canonical[column]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            numbers = values.to_numpy(dtype="float64", na_value=np.nan) + 0.0
            canonical[column] = np.where(np.isnan(numbers), np.nan, numbers)
    return np.column_stack([pd.util.hash_pandas_object(canonical, index=False, hash_key=key)
                            .to_numpy() for key in HASH_KEYS])


def later_copies(hashes: np.ndarray) -> np.ndarray:
    """Whether each row repeats an earlier row's hash (the first copy is kept)."""
    if not len(hashes):
        return np.zeros(0, dtype=bool)
    return pd.DataFrame(hashes).duplicated(keep="first").to_numpy()


class _Evidence:
    """What the first pass keeps of every row: the row rules it breaks, its hashes."""

    def __init__(self, plan: CleanPlan) -> None:
        self.plan = plan
        self.broken: dict[str, list[np.ndarray]] = {r.reason: [] for r in plan.rules
                                                   if isinstance(r, RowRule)}
        self.hashes: dict[str, list[np.ndarray]] = {r.reason: [] for r in plan.rules
                                                   if isinstance(r, DuplicateRule)}
        self.absent: set[str] = set()  # duplicate rules whose columns the file lacks
        self.batches = 0
        self.rows = 0

    def add(self, raw: pd.DataFrame, parsed: pd.DataFrame) -> None:
        for rule in self.plan.rules:
            if isinstance(rule, RowRule):
                broken = pd.Series(rule.breaks(parsed), index=parsed.index)
                self.broken[rule.reason].append(broken.fillna(False).to_numpy(dtype=bool))
                continue
            columns = compared(raw if rule.on == "raw" else parsed, rule)
            if columns is None:
                self.absent.add(rule.reason)
            else:
                self.hashes[rule.reason].append(row_hashes(columns))
        self.batches += 1
        self.rows += len(raw)

    def reasons(self) -> np.ndarray:
        """Per row, the index in the plan of the first rule it breaks, or KEPT; a trailing
        parsed-duplicate rule compares only the rows every other rule kept."""
        reason = np.full(self.rows, KEPT, dtype=np.int16)
        for index, rule in enumerate(self.plan.rules):
            broken = np.zeros(self.rows, dtype=bool)
            if isinstance(rule, RowRule):
                broken = np.concatenate(self.broken[rule.reason])
            elif rule.reason in self.absent:
                pass  # the compared columns are missing: no row repeats another
            elif rule.on == "raw":
                broken = later_copies(np.concatenate(self.hashes[rule.reason]))
            else:
                kept = reason == KEPT
                broken[kept] = later_copies(np.concatenate(self.hashes[rule.reason])[kept])
            reason[broken & (reason == KEPT)] = index
        return reason


def clean_streamed(dataset: Dataset, plan: CleanPlan, input_path: Path, output_path: Path,
                   batch_rows: int) -> CleanReport | None:
    """Clean `input_path` by `plan` in batches of `batch_rows` into Parquet at `output_path`
    (written whole or not at all); None, writing nothing, for a file that yields no batch (a
    Parquet file without rows), which the caller cleans whole at no cost."""
    evidence = _Evidence(plan)
    for raw in iter_table(input_path, batch_rows):
        raw = normalise_raw(raw)
        evidence.add(raw, dataset.parse(raw))
    if not evidence.batches:
        return None
    reason = evidence.reasons()
    counts = np.bincount(reason[reason != KEPT], minlength=len(plan.rules))
    notes: dict[str, int] = {}
    start = 0
    with parquet_batches(output_path) as append:
        for raw in iter_table(input_path, batch_rows):
            kept = reason[start:start + len(raw)] == KEPT
            start += len(raw)
            if len(kept) < len(raw):
                raise _changed(input_path)
            rows = dataset.parse(normalise_raw(raw)).loc[kept].reset_index(drop=True)
            for name, count in plan.notes(rows).items():
                notes[name] = notes.get(name, 0) + int(count)
            append(rows)
        if start != evidence.rows:
            raise _changed(input_path)
    return CleanReport(rows_in=evidence.rows,
                       dropped={r.reason: int(c) for r, c in zip(plan.rules, counts, strict=True)},
                       rows_out=int((reason == KEPT).sum()), notes=notes, output=output_path)


def _changed(path: Path) -> DataValidationError:
    """The error for a file that another process rewrote between the two passes."""
    return DataValidationError(f"{path}: the file changed while it was being cleaned "
                               "(rows differ between two reads); clean it again")
