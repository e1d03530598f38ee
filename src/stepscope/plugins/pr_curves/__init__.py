"""The pr curves kind."""
