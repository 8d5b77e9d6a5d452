"""Deterministic payment traffic simulator.

A seeded world of customers, cards and merchants lives through simulated days; its payments,
declines, retries, refunds, fraud and the disputes that follow days later come out as the four
providers' real webhooks, signed byte for byte as Stripe, Square, Adyen and Braintree sign them.
The ground truth (which payments were fraud, which customers churned) is written apart, so the
platform can be evaluated against it without the webhooks ever leaking it.
"""

__version__ = "0.1.0"
