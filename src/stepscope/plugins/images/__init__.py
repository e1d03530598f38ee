"""The images kind."""
