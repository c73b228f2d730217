"""Sharding targets across exporters."""

from __future__ import annotations

import collections
import os
import re
import socket
import subprocess

import pytest

from ghost_exporter.config import parse_config
from ghost_exporter.shard import POD_NAME_ENV, Shard, pod_name, shard_of
from tests.support import cli


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


def test_auto_takes_the_index_from_the_ordinal_ending_the_pod_name() -> None:
    assert Shard.parse("auto/3", ("ghost-exporter-0", "the host name")) == Shard(0, 3)
    assert Shard.parse("auto/3", ("ghost-exporter-2", "the host name")) == Shard(2, 3)
    assert Shard.parse("auto/12", ("web-7-11", "the host name")) == Shard(11, 12)
    # setHostnameAsFQDN: the pod's name, then its domain.
    fqdn = "ghost-exporter-1.ghost-exporter-shards.ghost.svc.cluster.local"
    assert Shard.parse("auto/2", (fqdn, "the host name")) == Shard(1, 2)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("vm", r"the host name 'vm' does not end in -ORDINAL"),
        ("ghost-exporter", r"does not end in -ORDINAL"),
        ("ghost-exporter-", r"does not end in -ORDINAL"),
        ("ghost-exporter-01", r"does not end in -ORDINAL"),
        ("ghost-exporter-x", r"does not end in -ORDINAL"),
        ("ghost-exporter-3", r"ordinal 3 of the host name 'ghost-exporter-3' is not below COUNT 3"),
        ("ghost-exporter-7", r"the ordinal 7 .* more replicas than shards"),
    ],
)
def test_auto_refuses_a_name_without_a_usable_ordinal(name: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Shard.parse("auto/3", (name, "the host name"))


@pytest.mark.parametrize("bad", ["auto/0", "auto/", "auto", "auto/x", "Auto/2", "auto/-1"])
def test_auto_needs_a_positive_count(bad: str) -> None:
    with pytest.raises(ValueError, match="invalid shard"):
        Shard.parse(bad, ("ghost-exporter-0", "the host name"))


def test_pod_name_prefers_the_environment_variable() -> None:
    assert pod_name({POD_NAME_ENV: "ghost-exporter-4"}) == (
        "ghost-exporter-4",
        f"${POD_NAME_ENV}",
    )
    assert pod_name({POD_NAME_ENV: ""}) == (socket.gethostname(), "the host name")
    assert pod_name({}) == (socket.gethostname(), "the host name")


def _exporter(args: list[str], env_name: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != POD_NAME_ENV}
    if env_name is not None:
        env[POD_NAME_ENV] = env_name
    return subprocess.run(
        [cli("ghost-exporter"), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_cli_exits_2_naming_the_pod_name_without_an_ordinal() -> None:
    result = _exporter(["--probe.shard=auto/3", "validate"], "ghost-exporter")
    assert result.returncode == 2
    assert "argument --probe.shard: invalid shard 'auto/3'" in result.stderr
    assert f"${POD_NAME_ENV} 'ghost-exporter' does not end in -ORDINAL" in result.stderr


def test_cli_exits_2_when_the_ordinal_is_not_below_the_count() -> None:
    result = _exporter(["--probe.shard=auto/2", "validate"], "ghost-exporter-2")
    assert result.returncode == 2
    assert "the ordinal 2 of" in result.stderr
    assert "more replicas than shards" in result.stderr


def test_cli_reads_the_real_host_name_when_no_override_is_set() -> None:
    host = socket.gethostname()
    result = _exporter(["--probe.shard=auto/2", "validate"], None)
    if re.search(r"-(0|[1-9][0-9]*)$", host.split(".", 1)[0]):
        pytest.skip(f"this host name ({host!r}) ends in an ordinal")
    assert result.returncode == 2
    assert f"the host name {host!r} does not end in -ORDINAL" in result.stderr


def test_cli_accepts_an_ordinal_below_the_count() -> None:
    result = _exporter(["--probe.shard=auto/2", "validate"], "ghost-exporter-1")
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout
