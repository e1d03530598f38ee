"""The text kind."""
