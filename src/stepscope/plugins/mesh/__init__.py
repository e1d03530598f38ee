"""The mesh kind."""
