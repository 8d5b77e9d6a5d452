"""Reference data shared by every service: providers, currencies, decline codes."""
