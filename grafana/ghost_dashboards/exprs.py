"""PromQL building blocks shared by the dashboards."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from .constants import BURN_RATE_FACTORS, BURN_RATE_TIERS, CLUSTER_LABEL, CLUSTER_VARIABLE

#: Label matchers; multi-value variables expand to a regular expression, hence ``=~``.
JOB: Final = 'job=~"$job"'
SERVICE: Final = 'service=~"$service"'
DAEMON: Final = 'daemon=~"$daemon"'

#: Value of :func:`health_state` for each state of ghost_service_health.
HEALTH_CODES: Final = {"unknown": 0, "unhealthy": 1, "degraded": 2, "healthy": 3}

#: Value mappings of ghost_service_up and of :func:`health_state`.
UP_MAPPINGS: Final = {0: ("DOWN", "red"), 1: ("UP", "green")}
HEALTH_MAPPINGS: Final = {
    HEALTH_CODES["unknown"]: ("UNKNOWN", "text"),
    HEALTH_CODES["unhealthy"]: ("UNHEALTHY", "red"),
    HEALTH_CODES["degraded"]: ("DEGRADED", "orange"),
    HEALTH_CODES["healthy"]: ("HEALTHY", "green"),
}

#: Series colours of ghost_patches_total outcomes, by regular expression on the series name.
OUTCOME_COLOURS: Final = {".*completed": "green", ".*failed": "red", ".*timeout": "orange"}
#: Series colours of ghost_pipeline_canaries_total outcomes.
CANARY_COLOURS: Final = {".*delivered": "green", ".*late": "orange", ".*lost": "red"}

#: Value of ghost_monitor_in_sync and its mappings.
SYNC_MAPPINGS: Final = {0: ("DISAGREES", "red"), 1: ("AGREES", "green")}
#: The observed state of a service whose probes fail, beside HEALTH_CODES.
DOWN_CODE: Final = -1
STATE_MAPPINGS: Final = {DOWN_CODE: ("DOWN", "red"), **HEALTH_MAPPINGS}

_BURN_COLOURS: Final = ("yellow", "orange", "red", "dark-red")
#: Thresholds of burn-rate panels: one colour step at each alert factor.
BURN_STEPS: Final = [
    (None, "green"),
    *(
        (factor, _BURN_COLOURS[min(index, len(_BURN_COLOURS) - 1)])
        for index, factor in enumerate(BURN_RATE_FACTORS)
    ),
]
BURN_DESCRIPTION: Final = (
    "1 spends the error budget exactly over the SLO period; the lines are the burn-rate "
    "factors of the Ghost*ErrorBudgetBurn alerts: "
    + ", ".join(
        " and ".join(f"{factor:g}" for factor in factors) + f" ({severity})"
        for severity, factors in BURN_RATE_TIERS
    )
    + "."
)


#: With a cluster label in alerts/config.yml, every selector matches the cluster variable.
CLUSTER: Final = f'{CLUSTER_LABEL}="${CLUSTER_VARIABLE}"' if CLUSTER_LABEL else ""


def selector(metric: str, *matchers: str) -> str:
    """``metric{matcher, ...}``, the cluster matcher first when there is a cluster label."""
    every = [CLUSTER, *matchers] if CLUSTER else list(matchers)
    return metric + "{" + ", ".join(every) + "}"


def _state_code(metric: str, by: str, matchers: Sequence[str]) -> str:
    """The code (HEALTH_CODES) of the state a one-hot ``metric{state}`` gauge marks, by ``by``.

    The gauge is 1 for the current state and 0 for the others, so the largest weighted series
    is the current state.
    """
    terms = []
    for state, code in sorted(HEALTH_CODES.items(), key=lambda item: -item[1]):
        state_matcher = 'state="' + state + '"'
        terms.append(f"{selector(metric, *matchers, state_matcher)} * {code}")
    return f"max by ({by}) (" + " or ".join(terms) + ")"


def health_state(*matchers: str) -> str:
    """One series per service whose value is the code of its current state (HEALTH_CODES)."""
    return _state_code("ghost_service_health", "service", matchers)


def claimed_state(*matchers: str) -> str:
    """One series per reporter and service: the code (HEALTH_CODES) of the state it claims."""
    return _state_code("ghost_reported_health", "reporter, service", matchers)


def observed_state(*matchers: str) -> str:
    """One series per service: DOWN_CODE while its probes fail, else its health code."""
    up = selector("ghost_service_up", *matchers)
    down = f"(max by (service) ({up}) == 0) * 0 + ({DOWN_CODE})"
    return f"{down} or {health_state(*matchers)}"


def quantile(q: float, bucket_selector: str, by: Sequence[str] = ()) -> str:
    """``q``-quantile of a histogram over ``$__rate_interval``, grouped by ``by``."""
    group = ", ".join([*by, "le"])
    return f"histogram_quantile({q}, sum by ({group}) (rate({bucket_selector}[$__rate_interval])))"


def burn_rate(error_ratio_rule: str, window: str, objective: float, *matchers: str) -> str:
    """Error budget burn rate from an ``<error_ratio_rule>:rate<window>`` recording rule."""
    return f"{selector(f'{error_ratio_rule}:rate{window}', *matchers)} / (1 - {objective})"
