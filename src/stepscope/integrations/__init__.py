"""Integrations of stepscope with training frameworks, one module per framework.

- :mod:`stepscope.integrations.lightning`: ``StepscopeLogger``, a PyTorch
  Lightning logger (``pip install lightning``).

Importing this package imports no framework; each module imports its own
when it is imported.
"""
