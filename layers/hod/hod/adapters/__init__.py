"""Adapters: every AWS SDK / pynamodb call lives here, wrapped in the project's own exceptions."""
