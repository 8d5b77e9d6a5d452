"""The inference service: fraud and churn scoring, retry strategy, and the models that serve them."""
