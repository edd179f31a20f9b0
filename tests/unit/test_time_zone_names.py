"""Time zone names: a real IANA zone passes; a folder of the zone database or junk does not."""

from __future__ import annotations

import pytest

from lealtad.tenancy.model import is_timezone


@pytest.mark.parametrize("name", ["Europe/Madrid", "America/Mexico_City", "UTC"])
def test_a_real_zone_is_a_time_zone(name: str) -> None:
    assert is_timezone(name)


@pytest.mark.parametrize("name", ["Europe", "America", "", "Mars/Olympus", "../etc/passwd"])
def test_a_folder_or_junk_is_not_a_time_zone(name: str) -> None:
    assert not is_timezone(name)
