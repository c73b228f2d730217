"""The agreement rule and the parsing of a reporter's answer."""

from __future__ import annotations

import pytest

from ghost_exporter.agreement import verdict
from ghost_exporter.kinds.reporter import ClaimsError, ReporterHTTP, parse_claims
from ghost_exporter.probes import Health

H, D, U = Health.HEALTHY, Health.DEGRADED, Health.UNHEALTHY


@pytest.mark.parametrize(
    ("history", "claim", "expected"),
    [
        ([(0.0, H)], H, True),
        ([(9.0, U)], H, None),  # seen only before the claim, within the interval: not yet known
        ([(9.0, U), (11.0, U)], H, False),  # probed again after the claim: a disagreement
        ([(1.0, H), (9.0, U)], H, True),  # healthy was in effect one interval before
        ([(-5.0, H), (1.0, U), (9.0, U), (11.0, U)], H, False),  # healthy too long ago
        ([(9.0, H), (11.0, U)], U, True),  # unhealthy seen just after the claim
        ([(9.0, H), (25.0, U)], U, False),  # ... but not a whole interval after it
        ([], H, None),
    ],
)
def test_verdict(history: list[tuple[float, Health]], claim: Health, expected: bool | None) -> None:
    assert verdict(history, claim, at=10.0, interval=5.0) is expected


def test_claims_from_an_object_a_list_and_bare_values() -> None:
    spec = ReporterHTTP(url="http://h/", health_map={"meh": "degraded"})
    data = {"services": {"a": {"status": "ok"}, "b": "down", "c": {"status": "meh"}, "d": {}}}
    assert parse_claims(data, spec) == {"a": H, "b": U, "c": D, "d": Health.UNKNOWN}
    listed = ReporterHTTP(
        url="http://h/", services_field="data.items", name_field="id", state_field="health.state"
    )
    data2 = {"data": {"items": [{"id": "a", "health": {"state": "green"}}, {"id": "b"}]}}
    assert parse_claims(data2, listed) == {"a": H, "b": Health.UNKNOWN}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "field 'services' is missing"),
        ({"services": "x"}, "field 'services' is neither an object nor a list"),
        ({"services": [{"status": "ok"}]}, "an entry of 'services' has no 'name'"),
        ({"services": {"": "ok"}}, "a service name is empty or too long"),
    ],
)
def test_claims_refused(data: object, message: str) -> None:
    with pytest.raises(ClaimsError) as info:
        parse_claims(data, ReporterHTTP(url="http://h/"))
    assert str(info.value) == message
