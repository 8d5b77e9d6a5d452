"""The rules baselines: served by inference while no model is promoted, and the bar every trained
model must clear on the same holdout before the pipelines promote it."""

from baselines.rules import CHURN_RULES_V1, FRAUD_RULES_V1, RULES_VERSION, LinearRules, Term

__all__ = ["CHURN_RULES_V1", "FRAUD_RULES_V1", "RULES_VERSION", "LinearRules", "Term"]
