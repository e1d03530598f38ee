"""The custom scalars kind."""
