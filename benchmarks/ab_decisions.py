"""Decision quality of the A/B rule under repeated looks, against two common peers.

Simulates A/B runs with known truth: champion absolute errors are heavy-tailed like house-price
residuals (|Student-t, 3 df| x $30k); the challenger's errors are the champion's times a
mean-one log-normal factor (paired, shadow mode) or an independent draw (unpaired, split mode),
times 1.0 (equal models) or 0.9 (true MAE 10% lower). Each run is evaluated after every 25 new
labels per variant, up to 48 looks, stopping at the first promote. Peers, on the same data:
a fixed-sample 95% bootstrap interval re-checked at every look, and the volume-only rule
(promote once 100 requests were served).

    .venv/bin/python benchmarks/ab_decisions.py [--runs 500] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from rich.console import Console
from rich.table import Table

from homeprice.monitoring.abtest import ABRules
from homeprice.monitoring.sequential import running_confidence_sequence

LOOK_EVERY, LOOKS, SCALE = 25, 48, 30_000.0


def errors(rng: np.random.Generator, n: int, effect: float, paired: bool
           ) -> tuple[np.ndarray, np.ndarray]:
    """(champion |error|, challenger |error|) for n requests per variant."""
    champion = np.abs(rng.standard_t(3, n)) * SCALE
    factor = rng.lognormal(-0.5 * 0.3**2, 0.3, n)  # mean one: equal MAE unless `effect` < 1
    base = champion if paired else np.abs(rng.standard_t(3, n)) * SCALE
    return champion, base * factor * effect


def first_promote(flags: np.ndarray, looks: np.ndarray, rules: ABRules) -> int | None:
    """Labels per variant at the first look that promotes (None: never)."""
    for n in looks:
        if n >= rules.min_feedback and flags[n - 1]:
            return int(n)
    return None


def sequential_rule(champion: np.ndarray, challenger: np.ndarray, paired: bool,
                    rules: ABRules) -> np.ndarray:
    """Promote flags after each label: the anytime-valid CS of the MAE difference above 0."""
    if paired:
        _, lower, _ = running_confidence_sequence(champion - challenger, rules.alpha,
                                                  rules.t_star)
        return lower > 0
    _, champion_low, _ = running_confidence_sequence(champion, rules.alpha / 2, rules.t_star)
    _, _, challenger_high = running_confidence_sequence(challenger, rules.alpha / 2,
                                                        rules.t_star)
    return champion_low - challenger_high > 0


def bootstrap_rule(rng: np.random.Generator, champion: np.ndarray, challenger: np.ndarray,
                   paired: bool, resamples: int = 200) -> np.ndarray:
    """Promote flags after each label: a 95% bootstrap interval of the difference above 0.

    Bayesian bootstrap (exponential weights) so that one weight matrix serves every prefix.
    """
    n = len(champion)

    def prefix_means(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
        return np.cumsum(weights * values, axis=1) / np.cumsum(weights, axis=1)

    w1 = rng.exponential(size=(resamples, n))
    if paired:
        means = prefix_means(champion - challenger, w1)
    else:
        w2 = rng.exponential(size=(resamples, n))
        means = prefix_means(champion, w1) - prefix_means(challenger, w2)
    return np.quantile(means, 0.025, axis=0) > 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rules = ABRules()
    rng = np.random.default_rng(args.seed)
    looks = np.arange(1, LOOKS + 1) * LOOK_EVERY
    n = int(looks[-1])
    table = Table(title=f"Promotion rate over {args.runs} simulated runs each, a look every "
                        f"{LOOK_EVERY} labels per variant, up to {LOOKS} looks "
                        f"(min {rules.min_feedback} labels, alpha {rules.alpha})")
    for column in ("mode", "truth", "homeprice (anytime-valid CS)", "median labels to promote",
                   "bootstrap re-checked each look", "volume only (>= 100 requests)"):
        table.add_column(column, justify="left" if column in ("mode", "truth") else "right")
    for paired, mode in ((True, "shadow (paired)"), (False, "split (unpaired)")):
        for effect, truth in ((1.0, "equal MAE"), (0.9, "challenger MAE -10%")):
            ours, boot, needed = 0, 0, []
            for _ in range(args.runs):
                champion, challenger = errors(rng, n, effect, paired)
                at = first_promote(sequential_rule(champion, challenger, paired, rules), looks,
                                   rules)
                ours += at is not None
                if at is not None:
                    needed.append(at)
                boot += first_promote(bootstrap_rule(rng, champion, challenger, paired), looks,
                                      rules) is not None
            median = f"{int(np.median(needed)):,}" if needed else "-"
            table.add_row(mode, truth, f"{ours / args.runs:.1%}", median,
                          f"{boot / args.runs:.1%}", "100.0%")
    Console(width=160).print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
