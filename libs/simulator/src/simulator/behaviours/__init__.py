"""What people (and fraudsters) do: each module turns the world into payment attempts of one kind.

`legit` is everyday shopping with its declines, retries, refunds, churn and the odd genuine
dispute; `card_testing`, `account_takeover`, `velocity_abuse` and `friendly_fraud` are the fraud
patterns, each spending a share of the run's fraud budget. `disputes` decides when a cardholder
disputes and how it ends.
"""
