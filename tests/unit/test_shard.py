"""Sharding targets across exporters."""

from __future__ import annotations

import collections

import pytest

from ghost_exporter.config import parse_config
from ghost_exporter.shard import Shard, shard_of


def _names(n: int) -> list[str]:
    return [f"target-{i:05d}" for i in range(n)]


def test_parse() -> None:
    assert Shard.parse("1/4") == Shard(1, 4)
    for bad in ("4/4", "1", "a/b", "-1/2", "0/0", "1/"):
        with pytest.raises(ValueError, match="invalid shard"):
            Shard.parse(bad)


def test_every_target_lands_on_exactly_one_shard_and_shards_are_even() -> None:
    text = "services:\n" + "".join(
        f"  - {{name: {n}, tcp: {{address: '127.0.0.1:1'}}}}\n" for n in _names(4000)
    )
    targets = parse_config(text).targets
    shares = [Shard(i, 4).select(targets) for i in range(4)]
    picked = collections.Counter(t.name for share in shares for t in share)
    assert set(picked.values()) == {1}
    assert len(picked) == 4000
    for share in shares:
        assert 900 < len(share) < 1100


def test_adding_targets_never_moves_the_others() -> None:
    before = {n: shard_of(n, 3) for n in _names(300)}
    after = {n: shard_of(n, 3) for n in _names(600)}
    assert all(after[n] == shard for n, shard in before.items())
