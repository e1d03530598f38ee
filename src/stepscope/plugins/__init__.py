"""One package per kind of data, each with the same parts.

``summary.py`` (the writer side: metadata constants and encoding) exists for
every kind; the reader side, routes and front-end modules join them in the
same packages. Adding a kind: copy a sibling.
"""
