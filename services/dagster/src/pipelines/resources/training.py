"""What the training assets may not decide alone: the label-maturity window, the seed, the bars."""

from dagster import ConfigurableResource


class TrainingPolicy(ConfigurableResource):  # type: ignore[type-arg]
    label_maturity_days: int = 60
    churn_horizon_days: int = 45
    """A customer who pays nothing for this long after a payment has churned (the churn label); a
    row's label is final only once the horizon has passed."""
    seed: int = 7
    threads: int = 0
    """XGBoost's threads (PIPELINES_TRAINING_THREADS); 0: the CPUs this process may use
    (`model.training_threads`: affinity capped by the cgroup quota)."""
    min_label_coverage: float = 0.99
    """Share of matured payments that must have a features row (and so a usable label)."""
    max_feature_null_rate: float = 0.01
    """Largest share of NULLs allowed in any feature column of the training rows."""
    min_improvement: float = 0.0
    """How much higher the candidate's holdout PR-AUC must be than the champion's."""
    reports_dir: str = ""
    """Where the PR-curve PNGs are written (besides the asset metadata); empty: not written."""
