"""The table of kinds: every kind declares all its parts, and what is per kind derives from it."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator

import pytest
from pydantic import BaseModel, Field

from ghost_exporter.config import ConfigError, parse_config
from ghost_exporter.config.model import Target
from ghost_exporter.config.schema import ServiceEntry, StrictModel, TargetEntry
from ghost_exporter.kinds import (
    KIND_TABLE,
    KINDS,
    TARGET_FAMILIES,
    ConfigFile,
    new_state,
    target_samples,
)
from ghost_exporter.kinds.kind import (
    Kind,
    check_table,
    config_file_model,
    target_families,
)
from ghost_exporter.metrics import ALL_METRICS, MetricDef
from ghost_exporter.probes import ProbeContext
from ghost_exporter.probes.httpclient import HTTPError
from ghost_exporter.probes.timeout import run_probe
from ghost_exporter.results import FailureReason, Health, ProbeError, ProbeResult
from ghost_exporter.samples import Sample, TargetState, service_samples
from ghost_exporter.selfmetrics import ExporterMetrics

#: One target of every kind.
EVERY_KIND = """
services:
  - {name: web, http: {url: 'http://127.0.0.1:1/health'}}
  - {name: feed, websocket: {url: 'ws://127.0.0.1:1/ws'}}
  - {name: cache, tcp: {address: '127.0.0.1:1'}}
daemons:
  - {name: stress, url: 'http://127.0.0.1:1'}
reporters:
  - {name: status, http: {url: 'http://127.0.0.1:1/status'}}
pipelines:
  - name: events
    interval: 15s
    emit: {http: {url: 'http://127.0.0.1:1/canary', body: '{"id": "{{canary}}"}'}}
    observe: [{name: ws, websocket: {url: 'ws://127.0.0.1:1/ws'}}]
"""


def test_every_kind_declares_schema_prober_state_and_samples() -> None:
    assert len(KIND_TABLE) == 6
    for name, kind in KIND_TABLE.items():
        assert kind.name == name
        assert issubclass(kind.schema, StrictModel), name  # unknown keys refused
        assert inspect.iscoroutinefunction(type(kind.prober).__call__), name
        assert issubclass(kind.state, TargetState), name
        assert callable(kind.samples), name
        assert kind.families, name
        assert set(kind.families) <= set(ALL_METRICS), name


def test_every_kind_publishes_only_its_own_families() -> None:
    config = parse_config(EVERY_KIND)
    assert [t.kind for t in config.targets] == list(KINDS)
    for target in config.targets:
        kind = KIND_TABLE[target.kind]
        state = new_state(target)
        assert type(state) is kind.state
        for success in (False, True):
            result = ProbeResult(success=success, health=Health.HEALTHY)
            if not success:
                result.fail(FailureReason.CONNECT, "refused")
            state.observe(result)
            families = {family.name for family, *_ in target_samples(state)}
            assert families, target.kind
            assert families <= {f.name for f in kind.families}, target.kind


def test_config_and_families_derive_from_the_table() -> None:
    assert tuple(KIND_TABLE) == KINDS
    sections = {kind.section for kind in KIND_TABLE.values()}
    assert set(ConfigFile.model_fields) == {"defaults"} | sections
    service = ConfigFile.model_fields["services"].annotation.__args__[0]  # type: ignore[union-attr]
    service_kinds = [k.name for k in KIND_TABLE.values() if k.is_service]
    assert service_kinds == ["http", "websocket", "tcp"]
    assert list(service.model_fields) == [*ServiceEntry.model_fields, *service_kinds]
    expected: list[MetricDef] = []
    for kind in KIND_TABLE.values():
        expected += [f for f in kind.families if f not in expected]
    assert list(TARGET_FAMILIES) == expected
    metrics = ExporterMetrics()
    metrics.set_targets([])
    for kind_name in KINDS:
        value = metrics.registry.get_sample_value("ghost_exporter_targets", {"kind": kind_name})
        assert value == 0.0


def test_targets_take_what_depends_on_their_kind_from_the_table() -> None:
    config = parse_config(EVERY_KIND)
    for target in config.targets:
        kind = KIND_TABLE[target.kind]
        assert target.identity_label == kind.identity_label
        assert target.is_service == kind.is_service
    labels = {t.kind: t.identity_label for t in config.targets}
    assert labels == {
        "http": "service",
        "websocket": "service",
        "tcp": "service",
        "daemon": "daemon",
        "reporter": "reporter",
        "pipeline": "pipeline",
    }


# --------------------------------------------------------------------------------------------
# A kind added in a copy of the table: its module's declaration and one row are enough.


class EchoProbe(StrictModel):
    """A throwaway service kind: ``outcome`` says what its prober does."""

    outcome: str = "ok"


class BeaconEntry(TargetEntry):
    """A throwaway kind with a section of its own."""

    code: int = Field(ge=0)


BEACON_UP = MetricDef("ghost_beacon_up", "gauge", "Whether the beacon answered.", ("beacon",))

_RAISES: dict[str, Callable[[], BaseException]] = {
    "refused": lambda: ConnectionRefusedError("refused"),
    "status": lambda: HTTPError(FailureReason.STATUS, "status 503"),
    "claims": lambda: ProbeError("not a list of claims"),
    "timeout": TimeoutError,
    "defect": lambda: KeyError("x"),
}


class EchoProber:
    async def __call__(self, target: Target, ctx: ProbeContext, result: ProbeResult) -> None:
        spec = target.spec
        assert isinstance(spec, EchoProbe)
        if spec.outcome in _RAISES:
            raise _RAISES[spec.outcome]()
        result.health = Health.HEALTHY
        result.succeed()


class BeaconProber:
    async def __call__(self, target: Target, ctx: ProbeContext, result: ProbeResult) -> None:
        spec = target.spec
        assert isinstance(spec, BeaconEntry)
        if spec.code != 0:
            raise ProbeError(f"code {spec.code}")
        result.succeed()


def beacon_samples(state: TargetState) -> Iterator[Sample]:
    if state.last is not None:
        yield BEACON_UP, BEACON_UP.name, (), 1.0 if state.last.success else 0.0


ECHO = Kind("echo", EchoProbe, EchoProber(), service_samples, KIND_TABLE["http"].families)
BEACON = Kind(
    "beacon", BeaconEntry, BeaconProber(), beacon_samples, (BEACON_UP,), section="beacons"
)
WITH_NEW_KINDS = {**KIND_TABLE, "echo": ECHO, "beacon": BEACON}


def test_a_new_kind_is_read_from_its_own_section_or_service_key() -> None:
    check_table(WITH_NEW_KINDS)
    model = config_file_model(WITH_NEW_KINDS)
    assert list(model.model_fields) == [*ConfigFile.model_fields, "beacons"]
    assert target_families(WITH_NEW_KINDS) == (*TARGET_FAMILIES, BEACON_UP)
    text = EVERY_KIND + "beacons:\n  - {name: lighthouse, code: 7}\n"
    text = text.replace("services:\n", "services:\n  - {name: echoed, echo: {outcome: ok}}\n")
    config = parse_config(text, kinds=WITH_NEW_KINDS)
    echoed, lighthouse = config.by_name["echoed"], config.by_name["lighthouse"]
    assert (echoed.kind, echoed.identity_label, echoed.is_service) == ("echo", "service", True)
    assert echoed.spec == EchoProbe(outcome="ok")
    assert (lighthouse.kind, lighthouse.identity_label) == ("beacon", "beacon")
    assert not lighthouse.is_service
    assert lighthouse.spec == BeaconEntry(name="lighthouse", code=7)
    with pytest.raises(ConfigError) as refused:
        parse_config("services:\n  - {name: none}\n", kinds=WITH_NEW_KINDS)
    assert [d.message for d in refused.value.details] == [
        "needs exactly one of http, websocket, tcp, echo (found: none)"
    ]
    with pytest.raises(ConfigError) as refused:  # the labels a new kind sets are reserved
        parse_config(
            "services:\n  - {name: e, labels: {beacon: x}, echo: {}}\n", kinds=WITH_NEW_KINDS
        )
    assert [d.message for d in refused.value.details] == [
        "label name 'beacon' is reserved by the exporter"
    ]
    assert parse_config(
        "services:\n  - {name: e, labels: {beacon: x}, http: {url: 'http://127.0.0.1:1/'}}\n"
    ).targets[0].labels == (("beacon", "x"),)
    with pytest.raises(ConfigError) as refused:
        parse_config("beacons:\n  - {name: b, code: 1}\n")  # not in the table in use
    assert [(d.path, d.message) for d in refused.value.details] == [("beacons", "unknown key")]


def test_a_table_whose_kinds_clash_is_refused() -> None:
    with pytest.raises(ValueError, match="section 'daemons' is taken"):
        check_table({**KIND_TABLE, "beacon": Kind(**{**_fields(BEACON), "section": "daemons"})})
    with pytest.raises(ValueError, match="clashes with a key of every service"):
        check_table({**KIND_TABLE, "retries": Kind(**{**_fields(ECHO), "name": "retries"})})
    with pytest.raises(ValueError, match="registered as"):
        check_table({"other": ECHO})


def _fields(kind: Kind) -> dict[str, object]:
    return {name: getattr(kind, name) for name in Kind.__dataclass_fields__}


@pytest.fixture
def with_new_kinds(monkeypatch: pytest.MonkeyPatch) -> None:
    """The new kinds in the table the runner and the store look their kind up in."""
    monkeypatch.setitem(KIND_TABLE, "echo", ECHO)
    monkeypatch.setitem(KIND_TABLE, "beacon", BEACON)


@pytest.mark.usefixtures("with_new_kinds")
@pytest.mark.parametrize(
    ("outcome", "reason", "message"),
    [
        ("ok", None, ""),
        ("refused", FailureReason.CONNECT, "refused"),
        ("status", FailureReason.STATUS, "status 503"),
        ("claims", FailureReason.PROTOCOL, "not a list of claims"),
        ("timeout", FailureReason.TIMEOUT, "timed out"),
        ("defect", FailureReason.PROTOCOL, "KeyError: 'x'"),
    ],
)
async def test_the_runner_classifies_what_a_prober_raises(
    outcome: str, reason: FailureReason | None, message: str
) -> None:
    config = parse_config(
        f"services:\n  - {{name: e, echo: {{outcome: {outcome}}}}}\n", kinds=WITH_NEW_KINDS
    )
    ctx = ProbeContext()
    try:
        result = await run_probe(config.targets[0], ctx)
    finally:
        await ctx.close()
    assert (result.success, result.reason, result.message) == (reason is None, reason, message)


@pytest.mark.usefixtures("with_new_kinds")
async def test_a_new_kind_keeps_its_state_and_publishes_its_samples() -> None:
    text = "beacons:\n  - {name: up, code: 0}\n  - {name: down, code: 3}\n"
    config = parse_config(text, kinds=WITH_NEW_KINDS)
    found = []
    ctx = ProbeContext()
    try:
        for target in config.targets:
            state = new_state(target)
            result = await run_probe(target, ctx)
            state.observe(result)
            found.append((result.reason, result.message, list(target_samples(state))))
    finally:
        await ctx.close()
    assert found == [
        (None, "", [(BEACON_UP, "ghost_beacon_up", (), 1.0)]),
        (FailureReason.PROTOCOL, "code 3", [(BEACON_UP, "ghost_beacon_up", (), 0.0)]),
    ]


def test_every_kind_schema_is_a_pydantic_model_of_its_part() -> None:
    for kind in KIND_TABLE.values():
        part = ConfigFile.model_fields[kind.section].annotation.__args__[0]  # type: ignore[union-attr]
        owner: type[BaseModel] = part
        if kind.is_service:
            owner = part.model_fields[kind.name].annotation.__args__[0]
        assert owner is kind.schema, kind.name
