"""Gamma-Gamma model of spend per transaction (Fader, Hardie and Lee 2005, "RFM and CLV").

Fitted on customers with at least one repeat transaction: ``x`` repeat transactions and ``m`` the average
value of those repeat transactions. Parameters ``(p, q, gamma)`` by maximum likelihood on their logs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import gammaln

from .bgnbd import FitError


@dataclass(frozen=True)
class GammaGammaParams:
    p: float
    q: float
    gamma: float

    def as_dict(self) -> dict[str, float]:
        return {"p": self.p, "q": self.q, "gamma": self.gamma}

    @property
    def population_mean(self) -> float:
        """Expected spend per transaction of a customer we know nothing about."""
        return self.p * self.gamma / (self.q - 1) if self.q > 1 else float("nan")


def log_likelihood(params: np.ndarray, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    p, q, g = params
    px = p * x
    return (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(g)
        + (px - 1) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(g + m * x)
    )


def fit(x: np.ndarray, m: np.ndarray) -> GammaGammaParams:
    x = np.asarray(x, float)
    m = np.asarray(m, float)
    keep = (x > 0) & (m > 0)
    x, m = x[keep], m[keep]
    if len(x) < 2:
        raise FitError("Gamma-Gamma needs customers with repeat purchases")

    def negative(log_params: np.ndarray) -> float:
        value = -log_likelihood(np.exp(log_params), x, m).mean()
        return value if np.isfinite(value) else 1e100

    result = minimize(
        negative,
        x0=np.array([0.0, 0.0, np.log(max(m.mean(), 1e-3))]),
        method="L-BFGS-B",
        bounds=[(-10, 10), (-10, 10), (-20, 20)],
        options={"maxiter": 2000},
    )
    if result.fun >= 1e99:
        raise FitError(f"Gamma-Gamma did not converge: {result.message}")
    p, q, g = np.exp(result.x)
    return GammaGammaParams(float(p), float(q), float(g))


def expected_order_value(params: GammaGammaParams, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """E[spend per transaction | x, m]: a weighted mean of the population mean and the customer's own."""
    p, q, g = params.p, params.q, params.gamma
    x = np.asarray(x, float)
    m = np.where(x > 0, np.asarray(m, float), 0.0)
    return (g + m * x) * p / (p * x + q - 1)
