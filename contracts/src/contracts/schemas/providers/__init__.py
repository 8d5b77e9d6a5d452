"""Typed payload models of each provider's webhooks, as the provider sends them."""
