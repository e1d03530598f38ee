"""``../shared`` beside the checkout: present for the developers and CI, absent in a plain clone.

A test that needs it calls :func:`need_shared`: where the folder is missing
the test module skips with the reason, unless ``STEPSCOPE_REQUIRE_SHARED``
is set (``.ci/run`` sets it), where it fails, so the tests can never skip
silently where they are meant to run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"
REQUIRED = "STEPSCOPE_REQUIRE_SHARED"


def need_shared(part: str) -> Path:
    """``SHARED / part``, or a module-level skip (a failure when ``REQUIRED`` is set) without it."""
    path = SHARED / part
    if path.exists():
        return path
    reason = f"{path} is not here: these tests need the project's shared/ beside the checkout"
    if os.environ.get(REQUIRED):
        pytest.fail(f"{reason}, and {REQUIRED} says they must run", pytrace=False)
    pytest.skip(reason, allow_module_level=True)
