"""``need_shared``: a skip with the reason in a plain clone, a failure where CI requires shared/."""

from __future__ import annotations

import pytest
from shared_files import REQUIRED, SHARED, need_shared


def test_a_missing_part_of_shared_skips_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REQUIRED, raising=False)
    with pytest.raises(pytest.skip.Exception, match="need the project's shared/"):
        need_shared("no-such-folder")


def test_where_shared_is_required_a_missing_part_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(REQUIRED, "1")
    with pytest.raises(pytest.fail.Exception, match="STEPSCOPE_REQUIRE_SHARED says they must run"):
        need_shared("no-such-folder")


def test_a_present_part_is_returned() -> None:
    seeds = need_shared("seeds")  # skips in a plain clone, like the seeds tests
    assert seeds == SHARED / "seeds"
    assert seeds.is_dir()
