"""Hypothesis strategies for hostile configuration files: a valid file, mutated once.

``mutated_configs()`` draws a ``Mutant``: the file's bytes, the key path that was changed (None
after a byte-level corruption) and what was done. The valid base carries a secret read through
``!env``; mutations may copy it anywhere, so that tests can check no message ever shows it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import yaml
from hypothesis import strategies as st

from ghost_common.errors import format_path

SECRET_ENV = "GHOST_FUZZ_SECRET"
SECRET = "fuzz-5ecret-7c1d9e"
#: Written into the data, replaced by ``!env GHOST_FUZZ_SECRET`` in the YAML text.
_PLACEHOLDER = "__ENV_SECRET__"

Path = tuple[str | int, ...]

BASE: dict[str, Any] = {
    "defaults": {"interval": "1h", "timeout": "1s"},
    "services": [
        {
            "name": "web",
            "labels": {"tier": "core"},
            "http": {
                "url": "http://127.0.0.1:9/health",
                "method": "GET",
                "headers": {"X-Token": _PLACEHOLDER},
                "basic_auth": {"username": "probe", "password": "pw-plain"},
                "valid_status_codes": [200, 204],
                "follow_redirects": True,
                "max_redirects": 3,
                "health_field": "status",
                "health_map": {"fine": "healthy"},
                "body_regex": "ok",
                "max_body_bytes": "64KiB",
                "tls_config": {"insecure_skip_verify": False, "server_name": "web"},
            },
        },
        {
            "name": "feed",
            "interval": "30m",
            "timeout": "2s",
            "websocket": {
                "url": "ws://127.0.0.1:9/ws",
                "send": '{"type": "subscribe"}',
                "expect_fields": {"type": "hello"},
                "timestamp_field": "ts",
                "max_lag": "5s",
                "max_message_bytes": "1MiB",
            },
        },
        {"name": "redis", "tcp": {"address": "127.0.0.1:9", "send": "PING", "expect": "PONG"}},
    ],
    "daemons": [
        {
            "name": "stress",
            "url": "http://127.0.0.1:9",
            "headers": {"Authorization": _PLACEHOLDER},
            "max_body_bytes": "64KiB",
        }
    ],
}


def key_paths(node: Any, path: Path = ()) -> list[Path]:
    """Every key path of a document (mapping keys and list indexes), parents first."""
    out: list[Path] = [path] if path else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += key_paths(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += key_paths(value, (*path, i))
    return out


def _get(data: Any, path: Path) -> Any:
    for part in path:
        data = data[part]
    return data


PATHS = key_paths(BASE)
MAPPINGS = [()] + [p for p in PATHS if isinstance(_get(BASE, p), dict)]
KEYS = [p for p in PATHS if isinstance(p[-1], str)]

BAD_DURATIONS = ["15", "15 s", "-1s", "1e400s", "9999999y", "s", "1h-", "1.5.5s", "∞s", ""]
BAD_URLS = [
    "ftp://example.org/",
    "http://",
    "http://[::1",
    "http://127.0.0.1:99999/",
    "http://127.0.0.1:0/",
    "http://user:pw@127.0.0.1/",
    " http://127.0.0.1/",
    "http://127.0.0.1/\nx",
    "//127.0.0.1/",
    "ws://127.0.0.1/",
    "127.0.0.1:80",
]
BAD_SIZES = ["1XB", "-1", "1e30", "99999TiB", "1.5.5MiB", "KiB"]


def scalars() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.sampled_from([10**30, -(10**30), 2**63, -1, 0, 65536]),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=40),
        st.sampled_from(BAD_DURATIONS + BAD_URLS + BAD_SIZES + [_PLACEHOLDER]),
    )


def values() -> st.SearchStrategy[Any]:
    return st.recursive(
        scalars(),
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.dictionaries(st.one_of(st.text(max_size=10), st.integers()), inner, max_size=4),
        ),
        max_leaves=8,
    )


def _round_trips(key: str) -> bool:
    """YAML folds some characters (NEL, line separators) inside quoted scalars: such a key would
    come back as another key, which is YAML's doing, not the loader's."""
    try:
        return bool(yaml.safe_load(_dump({"k": {key: 1}})) == {"k": {key: 1}})
    except yaml.YAMLError:
        return False


def keys() -> st.SearchStrategy[str]:
    return st.text(min_size=1, max_size=12).filter(_round_trips)


@dataclass(frozen=True)
class Mutant:
    """One hostile file: its bytes, the key path changed (None: bytes corrupted), and how."""

    raw: bytes
    path: Path | None
    what: str
    #: Other key paths an error may name instead of ``path``.
    also: tuple[Path, ...] = ()

    @property
    def where(self) -> list[str]:
        if self.path is None:
            return []
        return [format_path(p) for p in (self.path, *self.also)]


_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _dump(data: Any) -> str:
    return yaml.dump(data, Dumper=_DUMPER, allow_unicode=True, sort_keys=False, width=1000)


def render(data: Any) -> bytes:
    text = _dump(data)
    return (
        text.replace(f"'{_PLACEHOLDER}'", f"!env {SECRET_ENV}")
        .replace(_PLACEHOLDER, f"!env {SECRET_ENV}")
        .encode()
    )


@st.composite
def structured(draw: st.DrawFn) -> Mutant:
    """The base with one change: a value replaced, a key added or removed, a name duplicated."""
    data = copy.deepcopy(BASE)
    kind = draw(st.sampled_from(["set", "set", "set", "add", "delete", "duplicate"]))
    if kind == "set":
        path = draw(st.sampled_from(PATHS))
        value = draw(values())
        _get(data, path[:-1])[path[-1]] = value
        return Mutant(render(data), path, f"set {format_path(path)} to {value!r}")
    if kind == "add":
        parent = draw(st.sampled_from(MAPPINGS))
        key = draw(keys().filter(lambda k: k not in _get(BASE, parent)))
        _get(data, parent)[key] = draw(values())
        return Mutant(render(data), (*parent, key), f"add {format_path((*parent, key))}")
    if kind == "delete":
        path = draw(st.sampled_from(KEYS))
        del _get(data, path[:-1])[path[-1]]
        return Mutant(render(data), path, f"delete {format_path(path)}")
    section = draw(st.sampled_from(["services", "daemons"]))
    entries = data[section]
    index = draw(st.integers(0, len(entries) - 1))
    twin = copy.deepcopy(entries[index])
    named = [("services", i, e) for i, e in enumerate(data["services"])]
    named += [("daemons", i, e) for i, e in enumerate(data["daemons"])]
    original_section, original_index, original = draw(st.sampled_from(named))
    twin["name"] = original["name"]
    entries.append(twin)
    # The error may name either entry: whichever comes second in the file.
    return Mutant(
        render(data),
        (section, len(entries) - 1, "name"),
        "duplicate a name",
        also=((original_section, original_index, "name"),),
    )


@st.composite
def corrupted(draw: st.DrawFn) -> Mutant:
    """The base (or a structured mutant) with its bytes damaged."""
    raw = draw(structured()).raw if draw(st.booleans()) else render(BASE)
    at = draw(st.integers(0, len(raw)))
    kind = draw(st.sampled_from(["insert", "truncate", "replace", "indent", "tab"]))
    if kind == "insert":
        junk = draw(
            st.one_of(
                st.sampled_from(
                    [b"\xff", b"\xc3\x28", b"\x00", b"\x85", b"\xef\xbb\xbf", b"\x1b[0m"]
                ),
                st.binary(min_size=1, max_size=8),
                st.sampled_from([b": ", b"- ", b"[", b"{", b"&a ", b"*a", b"!!python/object "]),
            )
        )
        raw = raw[:at] + junk + raw[at:]
    elif kind == "truncate":
        raw = raw[:at]
    elif kind == "replace" and raw:
        at = min(at, len(raw) - 1)
        raw = raw[:at] + bytes([draw(st.integers(0, 255))]) + raw[at + 1 :]
    elif kind == "indent":
        raw = raw[:at] + b"   " + raw[at:]
    else:
        raw = raw[:at] + b"\t" + raw[at:]
    return Mutant(raw, None, f"{kind} bytes at {at}")


def bombs() -> st.SearchStrategy[Mutant]:
    """YAML bombs (aliases expanding exponentially), deep nesting, and oversize files."""

    def laughs(depth: int, fan: int) -> Mutant:
        lines = ["a0: &a0 [lol]"]
        for i in range(1, depth + 1):
            refs = ", ".join([f"*a{i - 1}"] * fan)
            lines.append(f"a{i}: &a{i} [{refs}]")
        lines.append(f"services: *a{depth}")
        return Mutant(("\n".join(lines) + "\n").encode(), None, f"billion laughs {depth}x{fan}")

    def nested(depth: int, closed: bool) -> Mutant:
        text = "services: " + "[" * depth + ("]" * depth if closed else "")
        return Mutant(text.encode(), None, f"nested {depth} closed={closed}")

    return st.one_of(
        st.builds(laughs, st.integers(2, 9), st.integers(2, 10)),
        st.builds(nested, st.integers(50, 5000), st.booleans()),
        st.just(Mutant(b"# " + b"x" * (5 * 1024 * 1024), None, "over 4 MiB")),
        st.just(Mutant(b"a: &a [*a]\nservices: *a\n", None, "recursive alias")),
    )


def mutated_configs() -> st.SearchStrategy[Mutant]:
    return st.one_of(structured(), structured(), corrupted(), bombs())
