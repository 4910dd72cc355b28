"""Public ids: prefixed, base62, unguessable, and every character position uniform."""

import re
from collections import Counter

from careos.ids import new_public_id


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
