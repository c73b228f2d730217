"""The SLOs of the rules config (alerts/config.yml) as Sloth SLOs, and its ``sloth_specs``.

Built from the checked model of :mod:`.config`: the objectives and windows are read, and the
profiles merged, there only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .sloth import SLO, EventsSli, RawSli, alert_windows, prom_duration, slos_from_spec

if TYPE_CHECKING:
    from .config import Profile

#: The config key holding a list of Sloth prometheus/v1 documents.
CONFIG_KEY = "sloth_specs"
#: The sloth_service of the SLOs derived from the rules config.
GHOST_SERVICE = "ghost"


@dataclass(frozen=True, slots=True)
class _Events:
    """What one of the config's objectives counts: bad and all events of one counter."""

    record: str  # the error-ratio recording rules' family, e.g. ghost:service_error_ratio
    by: str  # the label the ratio is kept by
    error: str  # selector of the bad events' counter
    total: str  # selector of all events' counter

    def sli(self, windows: Sequence[str], matchers: str) -> EventsSli | RawSli:
        """The recording rules' series when they cover every window, else the same queries."""
        if all(prom_duration(w) in windows for w in alert_windows()):
            selector = f"{{{matchers}}}" if matchers else ""
            return RawSli(f"{self.record}:rate{{{{.window}}}}{selector}")
        return EventsSli(self._query(self.error, matchers), self._query(self.total, matchers))

    def _query(self, selector: str, matchers: str) -> str:
        if matchers and selector.endswith("}"):
            selector = f"{selector[:-1]},{matchers}}}"
        elif matchers:
            selector = f"{selector}{{{matchers}}}"
        return f"sum by ({self.by}) (rate({selector}[{{{{.window}}}}]))"


_SERVICES = _Events(
    "ghost:service_error_ratio", "service", "ghost_probe_failures_total", "ghost_probes_total"
)
_PATCHES = _Events(
    "ghost:patch_error_ratio",
    "daemon",
    'ghost_patches_total{outcome=~"failed|timeout"}',
    'ghost_patches_total{outcome=~"completed|failed|timeout"}',
)
_PIPELINES = _Events(
    "ghost:pipeline_error_ratio",
    "pipeline",
    'ghost_pipeline_canaries_total{outcome=~"late|lost"}',
    'ghost_pipeline_canaries_total{outcome=~"delivered|late|lost"}',
)


def ghost_slos(profile: Profile) -> list[SLO]:
    """Sloth SLOs for the objectives of a profile of the rules config.

    One SLO per objective of the profile's ``slo``: service-availability, patch-success (plus
    patch-success-DAEMON for each daemon of ``patch_success_by_daemon``, which the first one then
    leaves out) and pipeline-delivery. Their SLIs are the project's error-ratio recording rules
    (ghost:service_error_ratio:rate5m, ...) when the profile's windows cover Sloth's, else the same
    counters queried directly. They have no alerts: the GhostServiceErrorBudgetBurn-style alerts
    already guard these objectives.
    """
    objectives = profile.slo
    windows = list(profile.windows)

    def slo(
        name: str, objective: Decimal, events: _Events, description: str, matchers: str = ""
    ) -> SLO:
        return SLO(
            service=GHOST_SERVICE,
            name=name,
            objective=float(objective * 100),
            sli=events.sli(windows, matchers),
            description=description,
        )

    daemons = objectives.patch_success_by_daemon
    others = f'daemon!~"{"|".join(sorted(daemons))}"' if daemons else ""
    return [
        slo(
            "service-availability",
            objectives.service_availability,
            _SERVICES,
            "Probes of each ghost service that succeed.",
        ),
        slo(
            "patch-success",
            objectives.patch_success,
            _PATCHES,
            "Patches of each daemon that complete (failed and timed-out ones are errors).",
            others,
        ),
        *(
            slo(
                f"patch-success-{daemon}",
                daemons[daemon],
                _PATCHES,
                f"Patches of daemon {daemon} that complete.",
                f'daemon="{daemon}"',
            )
            for daemon in sorted(daemons)
        ),
        slo(
            "pipeline-delivery",
            objectives.pipeline_delivery,
            _PIPELINES,
            "Canaries every observer of a pipeline sees within its deadline.",
        ),
    ]


def config_slos(profile: Profile, specs: Sequence[Any] = ()) -> list[SLO]:
    """``ghost_slos`` of the profile followed by the SLOs of every Sloth document of ``specs``
    (the config's ``sloth_specs``)."""
    slos = ghost_slos(profile)
    for index, spec in enumerate(specs):
        slos.extend(slos_from_spec(spec, f"{CONFIG_KEY}[{index}]"))
    return slos
