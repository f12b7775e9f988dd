"""The one statistics module for A/B tests (campaigns and the flow A/B split step) and holdout lift.

- ``win_probabilities``: for rates (opens, clicks, orders per recipient), each arm's posterior is
  Beta(1 + successes, 1 + failures) (a uniform prior); the probability that arm i is the best is
  ``∫ f_i(x) · Π_{j≠i} F_j(x) dx``, computed by quadrature on a fine grid (deterministic, no sampling).
- ``win_probabilities_means``: for revenue per recipient, the same integral with each arm's mean
  approximated as normal (mean, standard error from the sum and sum of squares).
- ``rate_lift`` / ``mean_lift``: treated versus holdout, absolute difference with a 95% confidence
  interval (Wald for the difference of two proportions; Welch for the difference of two means) and
  the relative lift.
- ``pick_winner``: the decision rule: an early winner when one arm's win probability reaches the
  threshold and every arm has the minimum sample; at the end of the test a winner only if one reached
  the threshold, else "no winner: not enough data" (no opens/clicks/orders, a tie, or under threshold).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as st

GRID = 4001
Z95 = 1.959963984540054


@dataclass(frozen=True, slots=True)
class Arm:
    label: str
    trials: int  # recipients
    successes: float = 0  # opens / clicks / orders (for rates)
    total: float = 0.0  # sum of the value (revenue) over recipients (for means)
    total_sq: float = 0.0  # sum of squared values per recipient

    @property
    def rate(self) -> float:
        return self.successes / self.trials if self.trials else 0.0

    @property
    def mean(self) -> float:
        return self.total / self.trials if self.trials else 0.0

    @property
    def variance(self) -> float:
        if self.trials < 2:
            return 0.0
        return max((self.total_sq - self.trials * self.mean ** 2) / (self.trials - 1), 0.0)


def _best_probabilities(pdfs: np.ndarray, cdfs: np.ndarray, dx: np.ndarray) -> list[float]:
    """P(arm i is the best) = ∫ pdf_i · Π_{j≠i} cdf_j, for arms sampled on a common grid."""
    out = []
    for i in range(len(pdfs)):
        others = np.prod(np.delete(cdfs, i, axis=0), axis=0) if len(pdfs) > 1 else 1.0
        out.append(float(np.sum(pdfs[i] * others * dx)))
    total = sum(out) or 1.0
    return [p / total for p in out]


def win_probabilities(arms: Sequence[Arm]) -> dict[str, float]:
    """Each arm's posterior probability of having the highest rate (Beta-binomial, uniform prior)."""
    if not arms:
        return {}
    params = [(1 + a.successes, 1 + max(a.trials - a.successes, 0)) for a in arms]
    # Integrate where the posteriors have mass: narrow posteriors (large samples) still get a fine grid.
    lo = min(float(st.beta.ppf(1e-12, *ab)) for ab in params)
    hi = max(float(st.beta.isf(1e-12, *ab)) for ab in params)
    edges = np.linspace(lo, hi, GRID)
    mids = (edges[:-1] + edges[1:]) / 2
    dx = np.diff(edges)
    pdfs = np.array([st.beta.pdf(mids, *ab) for ab in params])
    cdfs = np.array([st.beta.cdf(mids, *ab) for ab in params])
    return dict(zip([a.label for a in arms], _best_probabilities(pdfs, cdfs, dx), strict=True))


def win_probabilities_means(arms: Sequence[Arm]) -> dict[str, float]:
    """Each arm's probability of having the highest mean (revenue per recipient), normal approximation."""
    if not arms:
        return {}
    means = [a.mean for a in arms]
    ses = [math.sqrt(a.variance / a.trials) if a.trials else 0.0 for a in arms]
    if not any(ses):  # no spread at all: the highest mean wins outright (ties share)
        best = max(means)
        winners = [a.label for a, m in zip(arms, means, strict=True) if m == best]
        return {a.label: (1 / len(winners) if a.label in winners else 0.0) for a in arms}
    floor = min(s for s in ses if s > 0) / 100
    ses = [s or floor for s in ses]
    lo = min(m - 8 * s for m, s in zip(means, ses, strict=True))
    hi = max(m + 8 * s for m, s in zip(means, ses, strict=True))
    edges = np.linspace(lo, hi, GRID * 2)
    mids = (edges[:-1] + edges[1:]) / 2
    dx = np.diff(edges)
    pdfs = np.array([st.norm.pdf(mids, m, s) for m, s in zip(means, ses, strict=True)])
    cdfs = np.array([st.norm.cdf(mids, m, s) for m, s in zip(means, ses, strict=True)])
    return dict(zip([a.label for a in arms], _best_probabilities(pdfs, cdfs, dx), strict=True))


@dataclass(frozen=True, slots=True)
class Decision:
    winner: str | None
    probabilities: dict[str, float]
    reason: str
    final: bool = False  # the test is decided: a winner, or "no winner" at its end


NOUNS = {"open_rate": "opens", "click_rate": "clicks", "order_rate": "orders", "revenue_per_recipient": "revenue"}


def pick_winner(arms: Sequence[Arm], *, metric: str, threshold: float, min_sample: int,
                test_over: bool) -> Decision:
    """Decide an A/B test. ``metric`` "revenue_per_recipient" compares means, anything else rates.

    A winner needs evidence: some successes (or revenue), and a win probability at the threshold (early:
    also ``min_sample`` recipients per variant). At the end of the test without it, the decision is
    final with no winner: "no winner: not enough data" (the caller sends its default variant)."""
    means = metric == "revenue_per_recipient"
    probabilities = win_probabilities_means(arms) if means else win_probabilities(arms)
    if not arms:
        return Decision(None, probabilities, "no variants")
    best = max(arms, key=lambda a: (probabilities[a.label], a.mean if means else a.rate))
    p = probabilities[best.label]
    evidence = any(a.total if means else a.successes for a in arms)
    if evidence and p >= threshold and all(a.trials >= min_sample for a in arms):
        return Decision(best.label, probabilities, f"{best.label} reached {p:.1%} win probability (threshold "
                                                   f"{threshold:.0%}) with at least {min_sample} per variant",
                        final=True)
    if test_over and evidence and p >= threshold:
        return Decision(best.label, probabilities, f"test ended: {best.label} reached {p:.1%} win probability "
                                                   f"(threshold {threshold:.0%})", final=True)
    why = _undecided(arms, probabilities, metric, threshold, evidence)
    if test_over:
        return Decision(None, probabilities, f"no winner: not enough data ({why})", final=True)
    return Decision(None, probabilities, f"no winner yet ({why}); waiting")


def _undecided(arms: Sequence[Arm], probabilities: dict[str, float], metric: str, threshold: float,
               evidence: bool) -> str:
    noun = NOUNS.get(metric, "successes")
    if not evidence:
        return f"no {noun} in any variant"
    values = list(probabilities.values())
    if max(values) - min(values) < 1e-6:
        return f"a tie: every variant at {values[0]:.1%} win probability"
    best = max(probabilities, key=probabilities.get)
    return f"best is {best} at {probabilities[best]:.1%} win probability, under the {threshold:.0%} threshold"


@dataclass(frozen=True, slots=True)
class Lift:
    treated: float  # rate or mean per recipient, treated group
    control: float  # the holdout's
    difference: float  # treated - control
    low: float  # 95% confidence interval of the difference
    high: float
    relative: float | None  # difference / control (None when control is 0)

    @property
    def significant(self) -> bool:
        return self.low > 0 or self.high < 0


def rate_lift(treated_successes: float, treated_n: int, control_successes: float, control_n: int) -> Lift | None:
    """Difference of two proportions with a Wald 95% interval; None when a group is empty."""
    if not treated_n or not control_n:
        return None
    p1, p0 = treated_successes / treated_n, control_successes / control_n
    se = math.sqrt(p1 * (1 - p1) / treated_n + p0 * (1 - p0) / control_n)
    diff = p1 - p0
    return Lift(p1, p0, diff, diff - Z95 * se, diff + Z95 * se, diff / p0 if p0 else None)


def mean_lift(treated: Arm, control: Arm) -> Lift | None:
    """Difference of two means (revenue per recipient) with a Welch 95% interval."""
    if not treated.trials or not control.trials:
        return None
    se = math.sqrt(treated.variance / treated.trials + control.variance / control.trials)
    df_num = se ** 4
    df_den = sum((v / n) ** 2 / (n - 1) for v, n in ((treated.variance, treated.trials),
                                                   (control.variance, control.trials)) if n > 1)
    crit = float(st.t.ppf(0.975, df_num / df_den)) if df_den > 0 and df_num > 0 else Z95
    diff = treated.mean - control.mean
    return Lift(treated.mean, control.mean, diff, diff - crit * se, diff + crit * se,
                diff / control.mean if control.mean else None)
