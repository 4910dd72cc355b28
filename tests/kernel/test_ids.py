"""Public ids: prefixed, base62, unguessable, and every character position uniform; derived ids."""

import re
from collections import Counter

import pytest

from careos.ids import derived_public_id, new_public_id


def test_prefix_length_and_alphabet():
    assert re.fullmatch(r"lead_[0-9A-Za-z]{22}", new_public_id("lead"))
    assert re.fullmatch(r"x_[0-9A-Za-z]{40}", new_public_id("x", length=40))


def test_ids_do_not_repeat():
    assert len({new_public_id("usr") for _ in range(20_000)}) == 20_000


def test_every_position_uses_the_whole_alphabet_evenly():
    ids = [new_public_id("t")[2:] for _ in range(20_000)]
    for position in (0, 10, 21):  # the lowest, a middle and the highest base-62 digit
        counts = Counter(value[position] for value in ids)
        assert len(counts) == 62
        # 20,000 / 62 ≈ 323 per character (standard deviation ≈ 18): far outside is a bias.
        assert min(counts.values()) > 200 and max(counts.values()) < 450, counts


def test_derived_ids_are_a_function_of_their_parts():
    first = derived_public_id("msg", "evt_a", "whep_b")
    assert re.fullmatch(r"msg_[0-9A-Za-z]{22}", first)
    assert derived_public_id("msg", "evt_a", "whep_b") == first
    # Each part counts, in its place, and parts cannot run into each other.
    assert derived_public_id("msg", "whep_b", "evt_a") != first
    assert derived_public_id("msg", "evt_a", "whep_c") != first
    assert derived_public_id("msg", "evt_ab", "c") != derived_public_id("msg", "evt_a", "bc")
    assert re.fullmatch(r"x_[0-9A-Za-z]{32}", derived_public_id("x", "a", length=32))
    with pytest.raises(ValueError):
        derived_public_id("x", "a", length=33)
