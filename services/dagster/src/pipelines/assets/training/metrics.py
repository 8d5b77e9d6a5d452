"""Holdout metrics of a fraud score, and the PR-curve picture."""

import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # (after choosing the non-interactive backend)
import numpy as np
from sklearn.metrics import (  # type: ignore[import-untyped]
    average_precision_score,
    brier_score_loss,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)

PROMOTION_METRIC: Final = "pr_auc"
"""The agreed metric: a candidate is promoted only when its holdout PR-AUC is higher than both the
champion's and the rules baseline's."""


def recall_at_fpr(y: np.ndarray, scores: np.ndarray, max_fpr: float = 0.01) -> float:
    """The best true-positive rate among thresholds whose false-positive rate is at most `max_fpr`.

    Every threshold counts (`drop_intermediate=False`): by default `roc_curve` drops the thresholds
    that lie on a straight line between two others, and the best one at or under `max_fpr` can be
    such a point (found by the brute-force test; it under-reported recall by one positive in 81).
    """
    fpr, tpr, _ = roc_curve(y, scores, drop_intermediate=False)
    allowed = fpr <= max_fpr
    return float(tpr[allowed].max()) if allowed.any() else 0.0


def expected_calibration_error(y: np.ndarray, scores: np.ndarray, bins: int = 10) -> float:
    """Mean |observed rate - mean score| over equal-width score bins, weighted by bin size."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(scores, edges[1:-1]), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        chosen = index == b
        if chosen.any():
            error += chosen.mean() * abs(float(y[chosen].mean()) - float(scores[chosen].mean()))
    return float(error)


def fraud_metrics(y: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    if y.min() == y.max():
        raise ValueError("the holdout needs both classes to be evaluated")
    return {
        "pr_auc": float(average_precision_score(y, scores)),
        "roc_auc": float(roc_auc_score(y, scores)),
        "recall_at_1pct_fpr": recall_at_fpr(y, scores, 0.01),
        "brier": float(brier_score_loss(y, scores)),
        "expected_calibration_error": expected_calibration_error(y, scores),
        "holdout_rows": float(len(y)),
        "holdout_positives": float(y.sum()),
    }


def pr_curve_png(
    y: np.ndarray,
    curves: Mapping[str, np.ndarray],
    title: str = "Fraud model: precision-recall on the time-based holdout",
) -> bytes:
    """Precision against recall of each named score on the same labels, as a PNG."""
    figure, axes = plt.subplots(figsize=(6, 4.5), dpi=100)
    for name, scores in curves.items():
        precision, recall, _ = precision_recall_curve(y, scores)
        axes.step(recall, precision, where="post", label=f"{name} (AP {average_precision_score(y, scores):.3f})")
    axes.axhline(float(y.mean()), color="grey", linestyle=":", label=f"base rate {y.mean():.3f}")
    axes.set_xlabel("recall")
    axes.set_ylabel("precision")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.02)
    axes.set_title(title)
    axes.legend(loc="upper right", fontsize=8)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()


def is_better(
    candidate: Mapping[str, float], champion: Mapping[str, float] | None, min_improvement: float = 0.0
) -> bool:
    """Promote when there is no champion, or the candidate beats it on the agreed metric."""
    if champion is None:
        return True
    return candidate[PROMOTION_METRIC] > champion[PROMOTION_METRIC] + min_improvement


@dataclass(frozen=True)
class PromotionDecision:
    beats_champion: bool
    beats_rules: bool
    reason: str

    @property
    def promote(self) -> bool:
        return self.beats_champion and self.beats_rules


def decide_promotion(
    candidate: Mapping[str, float],
    champion: Mapping[str, float] | None,
    rules: Mapping[str, float],
    min_improvement: float = 0.0,
) -> PromotionDecision:
    """Promote only a candidate above BOTH the champion (when there is one, by `min_improvement`)
    and the rules baseline on the agreed metric, all scored on the same holdout."""
    metric = PROMOTION_METRIC
    beats_champion = is_better(candidate, champion, min_improvement)
    beats_rules = candidate[metric] > rules[metric]
    failures = []
    if not beats_champion and champion is not None:
        failures.append(f"not above the champion's {champion[metric]:.4f}")
    if not beats_rules:
        failures.append(f"not above the rules baseline's {rules[metric]:.4f}")
    reason = (
        f"candidate {metric} {candidate[metric]:.4f} is " + " and ".join(failures)
        if failures
        else f"candidate {metric} {candidate[metric]:.4f} beats the champion and the rules baseline"
    )
    return PromotionDecision(beats_champion, beats_rules, reason)
