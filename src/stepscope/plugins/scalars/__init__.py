"""The scalars kind."""
