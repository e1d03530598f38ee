"""The audio kind."""
