"""Sharding targets across exporters, with the same hash as Prometheus's ``hashmod`` relabeling."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from ghost_exporter.config import Target


def shard_of(name: str, count: int) -> int:
    """The shard of ``name`` among ``count``: md5, the last 8 bytes big-endian, modulo ``count``,
    which is what Prometheus's ``action: hashmod`` computes for a single source label."""
    digest = hashlib.md5(name.encode(), usedforsecurity=False).digest()
    return int.from_bytes(digest[8:], "big") % count


@dataclass(frozen=True, slots=True)
class Shard:
    """This exporter's share: shard ``index`` of ``count``."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        index_text, sep, count_text = text.partition("/")
        if not sep or not index_text.isdigit() or not count_text.isdigit():
            raise ValueError(f"invalid shard {text!r}: use INDEX/COUNT, e.g. 0/4")
        index, count = int(index_text), int(count_text)
        if count < 1 or index >= count:
            raise ValueError(f"invalid shard {text!r}: INDEX must be below COUNT")
        return cls(index, count)

    def select(self, targets: Iterable[Target]) -> tuple[Target, ...]:
        return tuple(t for t in targets if shard_of(t.name, self.count) == self.index)
