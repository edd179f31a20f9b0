"""The wallet's rotating card code (decisions D20): good for its minute and the next, refused
when forged, stale, for another card version or another business's key."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lealtad.members.model import StaleCardToken, read_rotating_token, rotating_token

KEY = "k" * 40
T = 1_790_000_000.0


def test_a_fresh_code_reads_back_to_its_member() -> None:
    token = rotating_token(KEY, 7, 42, 3, T)
    assert read_rotating_token(KEY, token, T) == (7, 42, 3)
    assert read_rotating_token(KEY, token.lower(), T + 30) == (7, 42, 3)


def test_the_code_changes_every_minute() -> None:
    assert rotating_token(KEY, 7, 42, 3, T) != rotating_token(KEY, 7, 42, 3, T + 60)


def test_a_code_is_good_for_its_minute_and_the_next_only() -> None:
    start = (T // 60) * 60
    token = rotating_token(KEY, 7, 42, 3, start)
    assert read_rotating_token(KEY, token, start + 119) == (7, 42, 3)
    with pytest.raises(StaleCardToken):
        read_rotating_token(KEY, token, start + 120)


def test_a_code_from_the_future_is_stale_too() -> None:
    token = rotating_token(KEY, 7, 42, 3, T + 600)
    with pytest.raises(StaleCardToken):
        read_rotating_token(KEY, token, T)


@given(st.integers(0, 9), st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"))
def test_changing_any_character_of_the_signature_is_a_forgery(index: int, char: str) -> None:
    token = rotating_token(KEY, 7, 42, 3, T)
    head, mac = token.rsplit("-", 1)
    forged = head + "-" + mac[:index] + char + mac[index + 1 :]
    if forged != token:
        assert read_rotating_token(KEY, forged, T) is None


@pytest.mark.parametrize("junk", ["", "LT2", "LT2-1-2-3-4", "LT2-Z-Z-x-Z-AAAA", "LT1-1-2-3-ABC"])
def test_junk_is_not_a_code(junk: str) -> None:
    assert read_rotating_token(KEY, junk, T) is None


def test_another_key_does_not_read_the_code() -> None:
    assert read_rotating_token("other" * 10, rotating_token(KEY, 7, 42, 3, T), T) is None
