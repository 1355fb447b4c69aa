"""Decision quality of the A/B rule under repeated looks, against the rules common setups use.

Simulated champion/challenger lifecycles with known truth, each evaluated every `LOOK_EVERY`
labels per variant (up to `LOOKS` looks) and stopped at the first action (promote, retire,
rollback). Worlds:
- plain: champion absolute errors |Student-t, 3 df| x $30k, one request per client (the world
  the issue's "425 labels" was measured in);
- hard: 8 or 200 clients whose error scales differ (log-normal, sd 0.5) and whose traffic
  differs (log-normal weights, sd 1), plus heavy-tailed label noise (Student-t, 2 df, x $9k:
  mistyped prices) shared by both models on a label.
The challenger's model error is the champion's times a mean-one log-normal factor (shadow:
paired) or an independent draw (split: each client's requests go to one arm, chosen by a
coin per client, as the hash does), times 1.0 (equal), 0.9 (better) or 1.1 (worse). Gate-live
lifecycles also degrade the champion: live errors x1.5 (a true rollback) or x1.1 (inside the
20% tolerance: a rollback would be false); the drift hits the challenger too, so rollback, not
promotion, is the right answer. Offline metrics (the pre-registered scale) come from
a 4,000-label test draw of the healthy champion.

Rules, on the same data: homeprice (capped, scale-free, client-level in split), the previous
homeprice rule (raw dollars, rho tuned for unit variance, rows pooled), a 95% bootstrap interval
re-checked at every look, and the volume-only rule (>= 100 requests -> promote).

    PYTHONPATH=src .venv/bin/python benchmarks/ab_decisions.py [--runs 200] [--seed 0]

About 2.5 CPU-minutes with the defaults (--runs 50 for a quick look).
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from rich.console import Console
from rich.table import Table

from homeprice.monitoring.abtest import (
    ABRules,
    Preregistered,
    compare,
    decide,
    variant_stats,
)
from homeprice.monitoring.sequential import confidence_sequence, difference_of_sequences

LOOK_EVERY, LOOKS, SCALE = 25, 48, 30_000.0
NOISE = 0.3 * SCALE
PRICE = 300_000.0  # labels sit here; only errors matter to the rules


@dataclass(frozen=True)
class Scenario:
    """One row of the table: a world, a mode, the truth and the right answer."""

    name: str
    mode: str  # shadow | split
    clients: int | None  # None: one request per client (plain world)
    noise: bool
    effect: float  # challenger model error = champion's x effect
    drift: float  # live champion errors = offline x drift
    right: str  # the action the truth calls for (keep: none)


SCENARIOS = [
    Scenario("shadow, plain", "shadow", None, False, 1.0, 1.0, "keep"),
    Scenario("shadow, plain", "shadow", None, False, 0.9, 1.0, "promote"),
    Scenario("shadow, 200 clients, noisy", "shadow", 200, True, 1.0, 1.0, "keep"),
    Scenario("shadow, 200 clients, noisy", "shadow", 200, True, 0.9, 1.0, "promote"),
    Scenario("shadow, 200 clients, noisy", "shadow", 200, True, 1.1, 1.0, "retire"),
    Scenario("gate-live, 200 clients, noisy", "shadow", 200, True, 1.0, 1.1, "keep"),
    Scenario("gate-live, 200 clients, noisy", "shadow", 200, True, 1.0, 1.5, "rollback"),
    Scenario("split, 8 clients, noisy", "split", 8, True, 1.0, 1.0, "keep"),
    Scenario("split, 200 clients, noisy", "split", 200, True, 1.0, 1.0, "keep"),
    Scenario("split, 200 clients, noisy", "split", 200, True, 0.9, 1.0, "promote"),
]


@dataclass
class Run:
    """One simulated lifecycle: each variant's absolute errors and client keys, in time order."""

    champion: np.ndarray
    challenger: np.ndarray
    champion_clients: np.ndarray
    challenger_clients: np.ndarray
    preregistered: Preregistered


def simulate(rng: np.random.Generator, s: Scenario, n: int, rules: ABRules) -> Run:
    """n labels per variant of scenario `s`."""
    def noise(size: int) -> np.ndarray:
        return rng.standard_t(2, size) * NOISE if s.noise else np.zeros(size)

    k = s.clients or 1
    spread = rng.lognormal(0, 0.5, k) if s.clients else np.ones(1)
    spread /= spread.mean()
    weights = rng.lognormal(0, 1, k) if s.clients else np.ones(1)
    weights /= weights.sum()
    test = np.abs(SCALE * rng.standard_t(3, 4000) * spread[rng.choice(k, 4000, p=weights)]
                  + noise(4000))
    offline = {"mae": float(test.mean()), "rmse": float(np.sqrt(np.mean(test**2)))}
    preregistered = Preregistered.from_offline(offline, rules)
    assert preregistered is not None
    factor = rng.lognormal(-0.5 * 0.3**2, 0.3, 2 * n)  # mean one
    if s.mode == "shadow":
        clients = rng.choice(k, n, p=weights) if s.clients else np.arange(n)
        model = SCALE * rng.standard_t(3, n) * spread[clients if s.clients else 0] * s.drift
        label = noise(n)
        champion = np.abs(model + label)
        # A drift that degrades the champion live hits the challenger too (the same homes).
        challenger = np.abs(model * factor[:n] * s.effect + label)
        return Run(champion, challenger, clients, clients, preregistered)
    arm = rng.random(k) < 0.5  # True: the client sees the challenger
    # Draw requests until each arm has n labels (or give the empty arm none).
    drawn = rng.choice(k, 8 * n, p=weights)
    sides = []
    for want, effect in ((False, s.drift), (True, s.effect)):
        clients = drawn[arm[drawn] == want][:n]
        model = SCALE * rng.standard_t(3, len(clients)) * spread[clients] * effect
        sides.append((np.abs(model + noise(len(clients))), clients))
    (champion, c_clients), (challenger, h_clients) = sides
    return Run(champion, challenger, c_clients, h_clients + k, preregistered)


def _stats(variant: str, errors: np.ndarray, clients: np.ndarray | None, rules: ABRules,
           pre: Preregistered | None):
    actual = np.full(len(errors), PRICE)
    return variant_stats(variant, "1", actual, actual + errors, actual, actual, rules, pre,
                         clients=clients)


def ours(run: Run, s: Scenario, t: int, rules: ABRules) -> str:
    """homeprice's decision after t labels per variant."""
    c, h = run.champion[:t], run.challenger[:t]
    cc, hc = run.champion_clients[:t], run.challenger_clients[:t]
    if len(c) < 2 or len(h) < 2:
        return "keep"
    by_client = s.mode == "split"
    champion = _stats("champion", c, cc if by_client else None, rules, run.preregistered)
    challenger = _stats("challenger", h, hc if by_client else None, rules, run.preregistered)
    difference = compare(s.mode, c, h, rules, run.preregistered, champion_clients=cc,
                         challenger_clients=hc)
    return decide(s.mode, champion, challenger, difference, run.preregistered, True, rules)[0]


def previous(run: Run, s: Scenario, t: int, rules: ABRules) -> str:
    """The rule before this change: raw dollars, unit-variance tuning, rows pooled."""
    c, h = run.champion[:t], run.challenger[:t]
    if min(len(c), len(h)) < rules.min_feedback:
        return "keep"
    if s.mode == "shadow":
        difference = confidence_sequence(c - h, rules.alpha, rules.t_star)
    else:
        difference = difference_of_sequences(c, h, rules.alpha, rules.t_star)
    if difference.lower > 0:
        return "promote"
    champion = confidence_sequence(c, rules.alpha, rules.t_star)
    if champion.lower > run.preregistered.scale * (1 + rules.degradation_tolerance):
        return "rollback"
    return "keep"  # it never retired


class Bootstrap:
    """A 95% (Bayesian) bootstrap interval re-checked at every look; one weight matrix per run
    serves every prefix."""

    def __init__(self, rng: np.random.Generator, run: Run, s: Scenario, rules: ABRules,
                 resamples: int = 200) -> None:
        def prefix_means(values: np.ndarray) -> np.ndarray:
            w = rng.exponential(size=(resamples, len(values)))
            return np.cumsum(w * values, axis=1) / np.cumsum(w, axis=1)

        n = min(len(run.champion), len(run.challenger))
        c, h = run.champion[:n], run.challenger[:n]
        diff = prefix_means(c - h) if s.mode == "shadow" else prefix_means(c) - prefix_means(h)
        self.low, self.high = np.quantile(diff, [0.025, 0.975], axis=0)
        self.champion_low = np.quantile(prefix_means(c), 0.025, axis=0)
        self.limit = run.preregistered.scale * (1 + rules.degradation_tolerance)
        self.rules = rules

    def __call__(self, run: Run, s: Scenario, t: int, rules: ABRules) -> str:
        t = min(t, len(self.low))
        if t < rules.min_feedback:
            return "keep"
        if self.low[t - 1] > 0:
            return "promote"
        if self.champion_low[t - 1] > self.limit:
            return "rollback"
        return "retire" if self.high[t - 1] < 0 else "keep"


def volume_only(run: Run, s: Scenario, t: int, rules: ABRules) -> str:
    """Promote once both variants served 100 labelled requests."""
    return "promote" if min(len(run.champion[:t]), len(run.challenger[:t])) >= 100 else "keep"


Rule = Callable[[Run, Scenario, int, ABRules], str]


def first_action(rule: Rule, run: Run, s: Scenario, looks: np.ndarray, rules: ABRules
                 ) -> tuple[str, int | None]:
    """The first non-keep action at a look, and the labels per variant it took."""
    for t in looks:
        action = rule(run, s, int(t), rules)
        if action != "keep":
            return action, int(t)
    return "keep", None


WRONG = ("promote", "retire", "rollback")


def rate(outcomes: list[tuple[str, int | None]], action: str) -> float:
    """Share of runs whose first action was `action`."""
    return sum(a == action for a, _ in outcomes) / len(outcomes)


def cell(outcomes: list[tuple[str, int | None]], s: Scenario) -> tuple[str, str]:
    """('wrong% / right%', median labels to the right action) for one rule on one scenario."""
    wrong = sum(rate(outcomes, a) for a in WRONG if a != s.right)
    if s.right == "keep":
        return f"{wrong:.1%}", "-"
    right = [at for a, at in outcomes if a == s.right]
    median = f"{int(np.median(right)):,}" if right else "-"
    return f"{wrong:.1%} / {rate(outcomes, s.right):.0%}", median


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rules = ABRules()
    rng = np.random.default_rng(args.seed)
    looks = np.arange(1, LOOKS + 1) * LOOK_EVERY
    table = Table(title=f"{args.runs} simulated lifecycles per row, a look every {LOOK_EVERY} "
                        f"labels per variant, up to {LOOKS} looks (min {rules.min_feedback} "
                        f"labels, {rules.min_clients} clients per arm in split, alpha "
                        f"{rules.alpha}, losses capped at {rules.loss_cap:g} x offline MAE). "
                        "Peers' cells: wrong-action rate / right-action rate; bootstrap: a "
                        "95% interval re-checked at each look; volume only: >= 100 requests "
                        "-> promote")
    for column in ("scenario", "truth", "right", "ours: false promote", "false retire",
                   "false rollback", "right", "median labels", "previous rule",
                   "median labels ", "bootstrap", "volume only"):
        table.add_column(column, justify="left" if column in ("scenario", "truth", "right")
                         else "right")
    worst = 0.0
    for s in SCENARIOS:
        results: dict[str, list[tuple[str, int | None]]] = {k: [] for k in
                                                             ("ours", "prev", "boot", "vol")}
        for _ in range(args.runs):
            run = simulate(rng, s, int(looks[-1]), rules)
            results["ours"].append(first_action(ours, run, s, looks, rules))
            results["prev"].append(first_action(previous, run, s, looks, rules))
            results["boot"].append(first_action(Bootstrap(rng, run, s, rules), run, s, looks,
                                                rules))
            results["vol"].append(first_action(volume_only, run, s, looks, rules))
        truth = (f"challenger x{s.effect:g}" + (f", both x{s.drift:g} live" if s.drift != 1
                                                 else ""))
        false = [rate(results["ours"], a) if a != s.right else math.nan for a in WRONG]
        _, ours_median = cell(results["ours"], s)
        prev_cell, prev_median = cell(results["prev"], s)
        worst = max(worst, *(f for f in false if not math.isnan(f)))
        table.add_row(s.name, truth, s.right, *("-" if math.isnan(f) else f"{f:.1%}"
                                                for f in false),
                      "-" if s.right == "keep" else f"{rate(results['ours'], s.right):.0%}",
                      ours_median, prev_cell, prev_median, cell(results["boot"], s)[0],
                      cell(results["vol"], s)[0])
    console = Console(width=230)
    console.print(table)
    console.print(f"homeprice's worst wrong-action rate: {worst:.1%} (goal <= alpha = "
                  f"{rules.alpha:.0%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
