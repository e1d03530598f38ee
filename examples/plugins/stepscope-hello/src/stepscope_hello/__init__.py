"""stepscope-hello: an example dashboard plugin, a tab listing the greetings runs logged.

Write greetings with :func:`stepscope_hello.summary.add_greeting`; the
dashboard shows them in its Hello tab once this package is installed.
"""
