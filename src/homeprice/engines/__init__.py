"""Engines that run the data steps (clean, batch score): local (pandas/pyarrow) or Spark."""

from __future__ import annotations

from homeprice.engines.base import (
    ENGINES,
    CleanReport,
    Engine,
    ScoreReport,
    engine_for,
    get_engine,
)

__all__ = ["ENGINES", "CleanReport", "Engine", "ScoreReport", "engine_for", "get_engine"]
