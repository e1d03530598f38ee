"""The query box: read-only SQL over the index's documented views."""
