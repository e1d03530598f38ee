"""The histograms kind."""
