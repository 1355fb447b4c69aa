"""Cleaning rules as data: row-local drop rules and whole-dataset duplicate rules, in the order
a dataset applies them, so the local cleaner and the Spark engine run the same rules."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from homeprice.datasets.base import drop_rows


@dataclass(frozen=True)
class RowRule:
    """A drop rule whose verdict on a row depends on that parsed row alone, so it can run on
    any batch of rows (on Spark, per Arrow batch) with the same result."""

    reason: str
    breaks: Callable[[pd.DataFrame], pd.Series]


@dataclass(frozen=True)
class DuplicateRule:
    """Drop every later copy of a row (the first, in file order, is kept): a rule over the whole
    dataset, computed once and never per batch."""

    reason: str
    on: Literal["raw", "parsed"]
    """raw: copies among all source rows, before any drop (a missing column: no copies);
    parsed: copies among the parsed rows every earlier rule kept (only as the last rule)."""
    columns: tuple[str, ...] | None = None
    """The columns compared; None: all of them."""


Rule = RowRule | DuplicateRule


@dataclass(frozen=True)
class CleanPlan:
    """A dataset's cleaning: its rules in order (a dropped row counts under the first it
    breaks) and the notes on the kept rows."""

    rules: tuple[Rule, ...]
    notes: Callable[[pd.DataFrame], dict[str, int]]
    """Counts over the kept rows; additive, so per-batch counts add up to the whole's."""

    def __post_init__(self) -> None:
        for rule in self.rules[:-1]:
            if isinstance(rule, DuplicateRule) and rule.on == "parsed":
                raise ValueError(f"duplicate rule {rule.reason!r} on parsed rows must come last "
                                 "(its copies are counted among the rows all other rules kept)")

    @property
    def reasons(self) -> list[str]:
        """Every drop reason, in rule order."""
        return [rule.reason for rule in self.rules]


def compared(frame: pd.DataFrame, rule: DuplicateRule) -> pd.DataFrame | None:
    """The columns of `frame` that `rule` compares, or None when the frame lacks one (then
    no row repeats another)."""
    columns = list(rule.columns) if rule.columns is not None else list(frame.columns)
    return frame[columns] if set(columns) <= set(frame.columns) else None


def raw_duplicates(raw: pd.DataFrame, rule: DuplicateRule) -> pd.Series:
    """Whether each source row is a later copy under `rule` (on="raw")."""
    columns = compared(raw, rule)
    if columns is None:
        return pd.Series(False, index=raw.index)
    return columns.duplicated(keep="first")


def apply_plan(raw: pd.DataFrame, parsed: pd.DataFrame, plan: CleanPlan
               ) -> tuple[pd.DataFrame, dict[str, int]]:
    """The parsed rows `plan` keeps, and the count dropped by each reason (the local cleaner)."""
    steps = []
    for rule in plan.rules:
        if isinstance(rule, RowRule):
            steps.append((rule.reason, rule.breaks))
        elif rule.on == "raw":
            flags = raw_duplicates(raw, rule)
            steps.append((rule.reason, lambda d, f=flags: f.loc[d.index]))
        else:
            subset = list(rule.columns) if rule.columns is not None else None
            steps.append((rule.reason, lambda d, s=subset: d.duplicated(subset=s, keep="first")))
    return drop_rows(parsed, steps)


def first_broken_rule(parsed: pd.DataFrame, plan: CleanPlan,
                      raw_flags: dict[str, pd.Series]) -> pd.Series:
    """Per row, the reason of the first row-local or raw-duplicate rule it breaks (None if it
    breaks none); `raw_flags` holds each raw duplicate rule's flags by reason. A trailing
    parsed-duplicate rule is left to the caller, which sees all rows."""
    reason = pd.Series(None, index=parsed.index, dtype=object)
    for rule in plan.rules:
        if isinstance(rule, RowRule):
            broken = rule.breaks(parsed)
        elif rule.on == "raw":
            broken = raw_flags[rule.reason]
        else:
            continue
        broken = pd.Series(broken, index=parsed.index).fillna(False).astype(bool)
        reason = reason.mask(broken & reason.isna(), rule.reason)
    return reason
