"""The SLOs of the rules config (alerts/config.yml) as Sloth SLOs, and its ``sloth_specs``.

Reads the config as a plain dict: ``ghost_slos`` is the one place that knows where the objectives
and windows are kept.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .sloth import SLO, EventsSli, RawSli, alert_windows, prom_duration, slos_from_spec

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
_DAEMON_NAME = re.compile(r"[A-Za-z0-9_-]+")


def ghost_slos(config: Mapping[str, Any], profile: str = "default") -> list[SLO]:
    """Sloth SLOs for the objectives of the rules config (alerts/config.yml as a plain dict).

    One SLO per objective of ``profiles.PROFILE.slo`` (merged onto the default profile):
    service-availability, patch-success (plus patch-success-DAEMON for each daemon of
    ``patch_success_by_daemon``, which the first one then leaves out) and pipeline-delivery. Their
    SLIs are the project's error-ratio recording rules (ghost:service_error_ratio:rate5m, ...) when
    the profile's windows cover Sloth's, else the same counters queried directly. They have no
    alerts: the GhostServiceErrorBudgetBurn-style alerts already guard these objectives.
    """
    settings = _profile(config, profile)
    where = f"profiles.{profile}.slo"
    objectives = settings.get("slo")
    if not isinstance(objectives, Mapping):
        raise ValueError(f"{where}: expected a mapping")
    windows = [str(name) for name in settings.get("windows") or {}]

    def slo(name: str, key: str, events: _Events, description: str, matchers: str = "") -> SLO:
        return SLO(
            service=GHOST_SERVICE,
            name=name,
            objective=_percent(objectives, key, where),
            sli=events.sli(windows, matchers),
            description=description,
        )

    daemons = objectives.get("patch_success_by_daemon") or {}
    for daemon in daemons:
        if not _DAEMON_NAME.fullmatch(str(daemon)):
            raise ValueError(f"{where}.patch_success_by_daemon.{daemon}: not a daemon name")
    others = f'daemon!~"{"|".join(sorted(daemons))}"' if daemons else ""
    return [
        slo(
            "service-availability",
            "service_availability",
            _SERVICES,
            "Probes of each ghost service that succeed.",
        ),
        slo(
            "patch-success",
            "patch_success",
            _PATCHES,
            "Patches of each daemon that complete (failed and timed-out ones are errors).",
            others,
        ),
        *(
            slo(
                f"patch-success-{daemon}",
                f"patch_success_by_daemon.{daemon}",
                _PATCHES,
                f"Patches of daemon {daemon} that complete.",
                f'daemon="{daemon}"',
            )
            for daemon in sorted(daemons)
        ),
        slo(
            "pipeline-delivery",
            "pipeline_delivery",
            _PIPELINES,
            "Canaries every observer of a pipeline sees within its deadline.",
        ),
    ]


def config_slos(config: Mapping[str, Any], profile: str = "default") -> list[SLO]:
    """``ghost_slos`` followed by the SLOs of every document under the config's ``sloth_specs``."""
    specs = config.get(CONFIG_KEY) or []
    if not isinstance(specs, list):
        raise ValueError(f"{CONFIG_KEY}: expected a list of Sloth prometheus/v1 documents")
    slos = ghost_slos(config, profile)
    for index, spec in enumerate(specs):
        slos.extend(slos_from_spec(spec, f"{CONFIG_KEY}[{index}]"))
    return slos


def _profile(config: Mapping[str, Any], profile: str) -> dict[str, Any]:
    """The ``slo`` and ``windows`` settings of ``profile``, merged key by key onto the default."""
    profiles = config.get("profiles")
    if not isinstance(profiles, Mapping) or profile not in profiles:
        raise ValueError(f"profiles.{profile}: missing")
    default = profiles.get("default") or {}
    chosen = profiles[profile] or {}
    merged: dict[str, Any] = {}
    for key in ("slo", "windows"):
        base = default.get(key) or {}
        override = chosen.get(key) or {}
        merged[key] = {**base, **override}
        if key == "slo" and "patch_success_by_daemon" in override:
            merged[key]["patch_success_by_daemon"] = {
                **(base.get("patch_success_by_daemon") or {}),
                **(override["patch_success_by_daemon"] or {}),
            }
    return merged


def _percent(objectives: Mapping[str, Any], key: str, where: str) -> float:
    """The objective at dotted ``key`` (a fraction, 0.995) as Sloth's percent (99.5)."""
    value: Any = objectives
    for part in key.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
        raise ValueError(f"{where}.{key}: expected a fraction above 0 and below 1, got {value!r}")
    return float(Decimal(str(value)) * 100)
