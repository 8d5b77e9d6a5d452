"""The normalizer: provider webhook envelopes in, one `NormalizedEvent` per provider event out."""
