"""How numbers are written for people in tables, gate reasons and A/B decisions."""

from __future__ import annotations


def human_number(value: float) -> str:
    """Thousands separated for large values, four significant digits for small ones."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
