"""Sharding targets across exporters, with the same hash as Prometheus's ``hashmod`` relabeling."""

from __future__ import annotations

import hashlib
import os
import re
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ghost_exporter.config import Target

#: Read by ``--probe.shard=auto/N`` instead of the host name when set: for pods whose host name
#: is not their own (``hostNetwork: true``), set it to the pod's name from the downward API.
POD_NAME_ENV = "GHOST_EXPORTER_POD_NAME"

_ORDINAL = re.compile(r"-(0|[1-9][0-9]*)$")


def shard_of(name: str, count: int) -> int:
    """The shard of ``name`` among ``count``: md5, the last 8 bytes big-endian, modulo ``count``,
    which is what Prometheus's ``action: hashmod`` computes for a single source label."""
    digest = hashlib.md5(name.encode(), usedforsecurity=False).digest()
    return int.from_bytes(digest[8:], "big") % count


def pod_name(environ: Mapping[str, str] | None = None) -> tuple[str, str]:
    """(name, where it came from): ``$GHOST_EXPORTER_POD_NAME`` when set, else the host name."""
    env = os.environ if environ is None else environ
    if env.get(POD_NAME_ENV):
        return env[POD_NAME_ENV], f"${POD_NAME_ENV}"
    return socket.gethostname(), "the host name"


@dataclass(frozen=True, slots=True)
class Shard:
    """This exporter's share: shard ``index`` of ``count``."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str, name: tuple[str, str] | None = None) -> Shard:
        """``INDEX/COUNT``, or ``auto/COUNT``: the index is the ordinal that ends a StatefulSet
        pod's name (``ghost-exporter-2`` is 2), read from ``name`` (name, its source), by
        default :func:`pod_name`."""
        index_text, sep, count_text = text.partition("/")
        index_ok = index_text.isdigit() or index_text == "auto"
        if not sep or not count_text.isdigit() or not index_ok:
            raise ValueError(f"invalid shard {text!r}: use INDEX/COUNT or auto/COUNT, e.g. 0/4")
        count = int(count_text)
        if index_text == "auto":
            return cls._auto(text, count, pod_name() if name is None else name)
        index = int(index_text)
        if count < 1 or index >= count:
            raise ValueError(f"invalid shard {text!r}: INDEX must be below COUNT")
        return cls(index, count)

    @classmethod
    def _auto(cls, text: str, count: int, name: tuple[str, str]) -> Shard:
        value, source = name
        if count < 1:
            raise ValueError(f"invalid shard {text!r}: COUNT must be at least 1")
        # A StatefulSet pod's host name is its name; with setHostnameAsFQDN it is followed by
        # its domain.
        match = _ORDINAL.search(value.split(".", 1)[0])
        if match is None:
            raise ValueError(
                f"invalid shard {text!r}: {source} {value!r} does not end in -ORDINAL as a "
                f"StatefulSet pod's name does (ghost-exporter-0); set {POD_NAME_ENV} to the pod's "
                "name, or give the index as INDEX/COUNT"
            )
        index = int(match.group(1))
        if index >= count:
            raise ValueError(
                f"invalid shard {text!r}: the ordinal {index} of {source} {value!r} is not below "
                f"COUNT {count}: the StatefulSet has more replicas than shards"
            )
        return cls(index, count)

    def select(self, targets: Iterable[Target]) -> tuple[Target, ...]:
        return tuple(t for t in targets if shard_of(t.name, self.count) == self.index)
