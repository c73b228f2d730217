#!/usr/bin/env python3
"""Build the Prometheus recording and alert rules of ghost-exporter from alerts/config.yml.

    python alerts/generate.py                          # write the committed default-profile files
    python alerts/generate.py --profile fast --out DIR # write that profile's rule files into DIR
    python alerts/generate.py --check                  # exit 1 when the committed files differ

The committed files are prometheus/rules/ghost-recording.yml and alerts/ghost-alerts.yml; with
--out both go into DIR under the same names. Every threshold, window, `for` duration and objective
comes from the config file; this module only knows the shape of each rule.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
CONFIG_PATH = ROOT / "alerts" / "config.yml"
RECORDING_FILE = "ghost-recording.yml"
ALERTS_FILE = "ghost-alerts.yml"
#: Where `make rules` writes each file of the default profile.
COMMITTED_PATHS: dict[str, Path] = {
    RECORDING_FILE: ROOT / "prometheus" / "rules" / RECORDING_FILE,
    ALERTS_FILE: ROOT / "alerts" / ALERTS_FILE,
}
DEFAULT_PROFILE = "default"
SEVERITIES = ("critical", "warning")

_DURATION_RE = re.compile(
    r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$"
)
_DURATION_UNITS = (
    Decimal(365 * 86400),
    Decimal(7 * 86400),
    Decimal(86400),
    Decimal(3600),
    Decimal(60),
    Decimal(1),
    Decimal("0.001"),
)
_DAY = Decimal(86400)


class ConfigError(Exception):
    """The config file is not what the generator expects; the message names the key."""


# --------------------------------------------------------------------------------------------
# Reading the config


def duration_seconds(text: str) -> Decimal:
    """Seconds in a Prometheus duration such as ``1h30m`` or ``500ms``."""
    match = _DURATION_RE.match(text)
    if not text or match is None:
        raise ValueError(f"not a Prometheus duration: {text!r}")
    return sum(
        (
            Decimal(int(part)) * unit
            for part, unit in zip(match.groups(), _DURATION_UNITS, strict=True)
            if part
        ),
        Decimal(0),
    )


def _number(value: Decimal) -> str:
    """A number as PromQL and people read it: 0.995, 14.4, 6."""
    return format(value.normalize(), "f")


def _percent(value: Decimal) -> str:
    return _number(value * 100) + "%"


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` merged key by key onto ``base``; lists and scalars are replaced whole."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


class Section:
    """One mapping of the config; remembers which keys were read so unknown keys are errors."""

    def __init__(self, data: object, path: str) -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(f"{path}: expected a mapping, got {type(data).__name__}")
        self._data: Mapping[str, object] = data
        self._path = path
        self._read: set[str] = set()
        self._children: list[Section] = []

    def _where(self, key: str) -> str:
        return f"{self._path}.{key}" if self._path else key

    def _get(self, key: str) -> object:
        if key not in self._data:
            raise ConfigError(f"{self._where(key)}: missing")
        self._read.add(key)
        return self._data[key]

    def section(self, key: str) -> Section:
        child = Section(self._get(key), self._where(key))
        self._children.append(child)
        return child

    def sections(self, key: str) -> list[Section]:
        value = self._get(key)
        if not isinstance(value, list) or not value:
            raise ConfigError(f"{self._where(key)}: expected a non-empty list")
        children = [Section(item, f"{self._where(key)}[{i}]") for i, item in enumerate(value)]
        self._children.extend(children)
        return children

    def raw(self, key: str) -> object:
        """The value of ``key`` as the YAML parser returned it."""
        return self._get(key)

    def names(self) -> list[str]:
        return [str(key) for key in self._data]

    def string(self, key: str) -> str:
        value = self._get(key)
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{self._where(key)}: expected a non-empty string")
        return value

    def duration(self, key: str) -> str:
        value = self._get(key)
        if not isinstance(value, str) or not value or _DURATION_RE.match(value) is None:
            raise ConfigError(f"{self._where(key)}: expected a Prometheus duration, got {value!r}")
        return value

    def optional_duration(self, key: str) -> str | None:
        if self._data.get(key, "") is None:
            self._read.add(key)
            return None
        return self.duration(key)

    def number(self, key: str) -> Decimal:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{self._where(key)}: expected a number, got {value!r}")
        number = Decimal(str(value))
        if not number.is_finite() or number <= 0:
            raise ConfigError(f"{self._where(key)}: must be positive, got {value!r}")
        return number

    def fraction(self, key: str) -> Decimal:
        number = self.number(key)
        if number >= 1:
            raise ConfigError(f"{self._where(key)}: must be between 0 and 1, got {number}")
        return number

    def choice(self, key: str, choices: Sequence[str], what: str) -> str:
        value = self.string(key)
        if value not in choices:
            raise ConfigError(
                f"{self._where(key)}: {value!r} is not one of the {what} ({', '.join(choices)})"
            )
        return value

    def integer(self, key: str) -> int:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{self._where(key)}: expected a positive integer, got {value!r}")
        return value

    def unread(self) -> Iterator[str]:
        """Every key of this section and the sections read from it that nothing asked for."""
        for key in self._data:
            if key not in self._read:
                yield self._where(str(key))
        for child in self._children:
            yield from child.unread()


@dataclass(frozen=True, slots=True)
class Config:
    """The config file: shared settings and the merged settings of each profile."""

    runbook_base_url: str
    alert_labels: dict[str, str]
    exporter_job: str
    exporter_service: str
    profiles: dict[str, dict[str, Any]]


def load_config(path: Path = CONFIG_PATH) -> Config:
    """Read the config file; every profile is merged onto the default profile."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    root = Section(data, "")
    labels = root.section("alert_labels")
    alert_labels = {key: labels.string(key) for key in labels.names()}
    for key in ("severity", "service"):
        if key in alert_labels:
            raise ConfigError(f"alert_labels.{key}: set by the generator, not by the config")
    config = Config(
        runbook_base_url=root.string("runbook_base_url").rstrip("#"),
        alert_labels=alert_labels,
        exporter_job=root.string("exporter_job"),
        exporter_service=root.string("exporter_service"),
        profiles={},
    )
    raw_profiles = root.raw("profiles")
    if not isinstance(raw_profiles, Mapping) or DEFAULT_PROFILE not in raw_profiles:
        raise ConfigError(f"profiles: expected a mapping with a {DEFAULT_PROFILE!r} profile")
    default = raw_profiles[DEFAULT_PROFILE]
    if not isinstance(default, Mapping):
        raise ConfigError(f"profiles.{DEFAULT_PROFILE}: expected a mapping")
    for name, override in raw_profiles.items():
        if not isinstance(override, Mapping):
            raise ConfigError(f"profiles.{name}: expected a mapping")
        config.profiles[str(name)] = _merge(default, override)
    unread = list(root.unread())
    if unread:
        raise ConfigError(f"unknown keys: {', '.join(unread)}")
    for name in config.profiles:  # a mistake in any profile fails every run, --check included
        RuleBuilder(config, name).build()
    return config


# --------------------------------------------------------------------------------------------
# Rules


Rule = dict[str, Any]
Group = dict[str, Any]


@dataclass(frozen=True, slots=True)
class BurnWindow:
    long: str
    short: str
    factor: Decimal


@dataclass(frozen=True, slots=True)
class Slo:
    """One objective with the alert that guards it."""

    alert: str
    record: str  # the error-ratio recording rule family, e.g. ghost:service_error_ratio
    label: str  # the label the ratio is kept by: service or daemon
    objective: Decimal
    what: str  # "availability", "patch success", ...
    unit: str  # what the ratio counts: "its probes", "its patches", "its canaries"
    summary: str
    selector: str = ""  # label matchers on the error-ratio series, e.g. {daemon="stress"}
    service: str | None = None  # the alert's service label when the ratio has none


def _block(*lines: str) -> str:
    return "\n".join(lines)


def _record(name: str, expr: str) -> Rule:
    return {"record": name, "expr": expr}


def _group(name: str, interval: str | None, rules: list[Rule]) -> Group:
    group: Group = {"name": name}
    if interval is not None:
        group["interval"] = interval
    group["rules"] = rules
    return group


def _rate(selector: str, window: str) -> str:
    return f"rate({selector}[{window}])"


_PATCHES_FINISHED = 'ghost_patches_total{outcome=~"completed|failed|timeout"}'
_PATCHES_COMPLETED = 'ghost_patches_total{outcome="completed"}'
_PATCHES_FAILED = 'ghost_patches_total{outcome=~"failed|timeout"}'
_CANARIES_SEEN = 'ghost_pipeline_canaries_total{outcome=~"delivered|late|lost"}'
_CANARIES_DELIVERED = 'ghost_pipeline_canaries_total{outcome="delivered"}'
_CANARIES_FAILED = 'ghost_pipeline_canaries_total{outcome=~"late|lost"}'


class RuleBuilder:
    """Builds the rule groups of one profile, reading every setting it uses from the profile."""

    def __init__(self, config: Config, profile: str) -> None:
        if profile not in config.profiles:
            known = ", ".join(sorted(config.profiles))
            raise ConfigError(f"unknown profile {profile!r} (known: {known})")
        self.config = config
        self.root = Section(config.profiles[profile], f"profiles.{profile}")
        self.interval = self.root.optional_duration("evaluation_interval")
        windows = self.root.section("windows")
        self.windows = {name: windows.duration(name) for name in windows.names()}
        recording = self.root.section("recording")
        self.patches_window = recording.duration("patches")
        self.probe_duration_window = recording.duration("probe_duration")
        self.availability_window = recording.duration("availability")
        self.pipelines_window = recording.duration("pipelines")
        self.alert_settings = self.root.section("alerts")
        self.slo = self.root.section("slo")

    def build(self) -> dict[str, list[Group]]:
        """File name -> rule groups; fails on config keys that no rule used."""
        files = {RECORDING_FILE: self.recording_groups(), ALERTS_FILE: self.alert_groups()}
        unread = list(self.root.unread())
        if unread:
            raise ConfigError(f"unknown keys: {', '.join(unread)}")
        return files

    # -- recording rules ---------------------------------------------------------------------

    def recording_groups(self) -> list[Group]:
        w = self.patches_window
        services = [
            _record(
                "ghost:probe_duration_seconds:p95_5m",
                _block(
                    "histogram_quantile(",
                    "  0.95,",
                    "  sum by (service, le) ("
                    + _rate("ghost_probe_duration_seconds_bucket", self.probe_duration_window)
                    + ")",
                    ")",
                ),
            ),
            _record(
                "ghost:service_availability:ratio_1h",
                f"avg by (service) (avg_over_time(ghost_service_up[{self.availability_window}]))",
            ),
        ]
        patches = [
            _record(
                "ghost:patches:rate5m",
                f"sum by (daemon, outcome) ({_rate('ghost_patches_total', w)})",
            ),
            _record(
                "ghost:patch_success_ratio:rate5m",
                _ratio(_rate(_PATCHES_COMPLETED, w), _rate(_PATCHES_FINISHED, w), "daemon"),
            ),
            _record(
                "ghost:patch_duration_seconds:p95_5m",
                _block(
                    "histogram_quantile(",
                    "  0.95,",
                    f"  sum by (daemon, le) ({_rate('ghost_patch_duration_seconds_bucket', w)})",
                    ")",
                ),
            ),
        ]
        pw = self.pipelines_window
        pipelines = [
            _record(
                "ghost:pipeline_delivered_ratio:rate5m",
                _ratio(_rate(_CANARIES_DELIVERED, pw), _rate(_CANARIES_SEEN, pw), "pipeline"),
            ),
        ]
        slo = (
            [
                _record(
                    f"ghost:service_error_ratio:rate{name}",
                    _ratio(
                        _rate("ghost_probe_failures_total", window),
                        _rate("ghost_probes_total", window),
                        "service",
                    ),
                )
                for name, window in self.windows.items()
            ]
            + [
                _record(
                    f"ghost:patch_error_ratio:rate{name}",
                    _ratio(
                        _rate(_PATCHES_FAILED, window), _rate(_PATCHES_FINISHED, window), "daemon"
                    ),
                )
                for name, window in self.windows.items()
            ]
            + [
                _record(
                    f"ghost:pipeline_error_ratio:rate{name}",
                    _ratio(
                        _rate(_CANARIES_FAILED, window), _rate(_CANARIES_SEEN, window), "pipeline"
                    ),
                )
                for name, window in self.windows.items()
            ]
        )
        return [
            _group("ghost.recording.services", self.interval, services),
            _group("ghost.recording.patches", self.interval, patches),
            _group("ghost.recording.pipelines", self.interval, pipelines),
            _group("ghost.recording.slo", self.interval, slo),
        ]

    # -- alert rules -------------------------------------------------------------------------

    def _alert(
        self,
        name: str,
        severity: str,
        expr: str,
        for_: str,
        summary: str,
        description: str,
        service: str | None = None,
    ) -> Rule:
        labels = {"severity": severity}
        if service is not None:
            labels["service"] = service
        labels.update(sorted(self.config.alert_labels.items()))
        return {
            "alert": name,
            "expr": expr,
            "for": for_,
            "labels": labels,
            "annotations": {
                "summary": summary,
                "description": description,
                "runbook_url": f"{self.config.runbook_base_url}#{name.lower()}",
            },
        }

    def alert_groups(self) -> list[Group]:
        return [
            _group("ghost.alerts.services", self.interval, self._service_alerts()),
            _group("ghost.alerts.websocket", self.interval, self._websocket_alerts()),
            _group("ghost.alerts.patches", self.interval, self._patch_alerts()),
            _group("ghost.alerts.exporter", self.interval, self._exporter_alerts()),
            _group("ghost.alerts.tls", self.interval, self._tls_alerts()),
            _group("ghost.alerts.slo", self.interval, self._slo_alerts()),
            _group("ghost.alerts.remediation", self.interval, self._remediation_alerts()),
            _group("ghost.alerts.sync", self.interval, self._sync_alerts()),
        ]

    def _service_alerts(self) -> list[Rule]:
        down = self.alert_settings.section("service_down")
        unhealthy = self.alert_settings.section("service_unhealthy")
        degraded = self.alert_settings.section("service_degraded")
        latency = self.alert_settings.section("probe_latency_high")
        p95_above = latency.duration("p95_above")
        rules = [
            self._alert(
                "GhostServiceDown",
                "critical",
                # A service that answers "unhealthy" pages as GhostServiceUnhealthy alone.
                "ghost_service_up == 0 unless on (job, instance, service) "
                'ghost_service_health{state="unhealthy"} == 1',
                down.duration("for"),
                "A ghost service fails its probes.",
                "{{ $labels.service }} (probed by {{ $labels.instance }}) has failed every probe "
                f"for more than {down.duration('for')}.",
            )
        ]
        for name, state, settings, severity, summary in (
            (
                "GhostServiceUnhealthy",
                "unhealthy",
                unhealthy,
                "critical",
                "A ghost service reports itself unhealthy.",
            ),
            (
                "GhostServiceDegraded",
                "degraded",
                degraded,
                "warning",
                "A ghost service reports itself degraded.",
            ),
        ):
            rules.append(
                self._alert(
                    name,
                    severity,
                    f'ghost_service_health{{state="{state}"}} == 1',
                    settings.duration("for"),
                    summary,
                    "{{ $labels.service }} has reported the health state {{ $labels.state }} "
                    f"for more than {settings.duration('for')}.",
                )
            )
        rules.append(
            self._alert(
                "GhostProbeLatencyHigh",
                "warning",
                f"ghost:probe_duration_seconds:p95_5m > {_seconds(p95_above)}",
                latency.duration("for"),
                "Probes of a ghost service are slow.",
                "The 95th percentile probe duration of {{ $labels.service }} over the last "
                f"{self.probe_duration_window} is {{{{ $value | humanizeDuration }}}}, "
                f"above {p95_above}.",
            )
        )
        return rules

    def _websocket_alerts(self) -> list[Rule]:
        stale = self.alert_settings.section("websocket_stale")
        silent = self.alert_settings.section("websocket_silent")
        lag_above = stale.duration("lag_above")
        window = silent.duration("window")
        ratio_above = silent.fraction("timeout_ratio_above")
        return [
            self._alert(
                "GhostWebSocketStale",
                "warning",
                f"ghost_websocket_message_lag_seconds > {_seconds(lag_above)}",
                stale.duration("for"),
                "A ghost WebSocket feed delivers stale messages.",
                "The last message on the WebSocket feed {{ $labels.service }} was "
                "{{ $value | humanizeDuration }} old when it was probed; ghost promises "
                f"real-time updates within {lag_above}.",
            ),
            self._alert(
                "GhostWebSocketSilent",
                "warning",
                _block(
                    "(",
                    "  sum by (service) ("
                    + _rate('ghost_probe_failures_total{reason="timeout"}', window)
                    + ")",
                    "  /",
                    f"  sum by (service) ({_rate('ghost_probes_total', window)})",
                    f") > {_number(ratio_above)}",
                    "and on (service)",
                    "  group by (service) (present_over_time("
                    f"ghost_websocket_message_lag_seconds[{silent.duration('lookback')}]))",
                ),
                silent.duration("for"),
                "A ghost WebSocket feed is silent.",
                "{{ $value | humanizePercentage }} of the probes of the WebSocket feed "
                f"{{{{ $labels.service }}}} over the last {window} timed out without a message "
                f"(threshold {_percent(ratio_above)}).",
            ),
        ]

    def _patch_alerts(self) -> list[Rule]:
        low = self.alert_settings.section("patch_success_low")
        stalled = self.alert_settings.section("patches_stalled")
        daemon_down = self.alert_settings.section("daemon_down")
        below = low.fraction("success_below")
        min_patches = low.integer("min_patches")
        w = self.patches_window
        stalled_window = stalled.duration("window")
        daemon = "{{ $labels.daemon }}"
        return [
            self._alert(
                "GhostPatchSuccessRateLow",
                "critical",
                _block(
                    f"ghost:patch_success_ratio:rate5m < {_number(below)}",
                    "and on (daemon)",
                    f"  sum by (daemon) (increase({_PATCHES_FINISHED}[{w}])) >= {min_patches}",
                ),
                low.duration("for"),
                "Too many ghost patches fail.",
                "Only {{ $value | humanizePercentage }} of the patches that daemon "
                f"{daemon} finished over the last {w} completed (threshold "
                f"{_percent(below)}, judged from {min_patches} patches on).",
                service=daemon,
            ),
            self._alert(
                "GhostPatchesStalled",
                "critical",
                _block(
                    "ghost_patches_in_flight > 0",
                    "unless on (daemon)",
                    f"  sum by (daemon) (increase(ghost_patches_total[{stalled_window}])) > 0",
                ),
                stalled.duration("for"),
                "Ghost patches are stuck in flight.",
                "{{ $value | humanize }} patches are in flight on daemon "
                f"{daemon}, but none has finished over the last {stalled_window}.",
                service=daemon,
            ),
            self._alert(
                "GhostDaemonDown",
                "critical",
                "ghost_daemon_up == 0",
                daemon_down.duration("for"),
                "A ghost stress daemon does not answer.",
                f"The status API of daemon {daemon} (probed by {{{{ $labels.instance }}}}) "
                "has not answered with a valid status for more than "
                f"{daemon_down.duration('for')}.",
                service=daemon,
            ),
        ]

    def _exporter_alerts(self) -> list[Rule]:
        down = self.alert_settings.section("exporter_down")
        absent = self.alert_settings.section("exporter_absent")
        reload = self.alert_settings.section("exporter_reload_failed")
        saturated = self.alert_settings.section("exporter_saturated")
        job = self.config.exporter_job
        service = self.config.exporter_service
        window = saturated.duration("window")
        p99_above = saturated.duration("p99_above")
        return [
            self._alert(
                "GhostExporterDown",
                "critical",
                f'up{{job="{job}"}} == 0',
                down.duration("for"),
                "Prometheus cannot scrape ghost-exporter.",
                "Prometheus has failed to scrape {{ $labels.instance }} (job {{ $labels.job }}) "
                f"for more than {down.duration('for')}: the ghost services and daemons it "
                "probes are not monitored.",
                service=service,
            ),
            self._alert(
                "GhostExporterAbsent",
                "critical",
                f'absent(up{{job="{job}"}})',
                absent.duration("for"),
                "No ghost-exporter is scraped.",
                "Prometheus has had no target in job {{ $labels.job }} for more than "
                f"{absent.duration('for')}: the ghost services and daemons are not monitored.",
                service=service,
            ),
            self._alert(
                "GhostExporterConfigReloadFailed",
                "warning",
                "ghost_exporter_config_last_reload_successful == 0",
                reload.duration("for"),
                "The ghost exporter could not reload its configuration.",
                "The last configuration reload of {{ $labels.instance }} failed "
                f"more than {reload.duration('for')} ago; it keeps probing with its previous "
                "configuration.",
                service=service,
            ),
            self._alert(
                "GhostExporterSaturated",
                "warning",
                _block(
                    "histogram_quantile(",
                    "  0.99,",
                    "  sum by (job, instance, le) ("
                    + _rate("ghost_exporter_scheduler_lag_seconds_bucket", window)
                    + ")",
                    f") > {_seconds(p99_above)}",
                ),
                saturated.duration("for"),
                "The ghost exporter starts its probes late.",
                "The 99th percentile scheduler lag of {{ $labels.instance }} over the last "
                f"{window} is {{{{ $value | humanizeDuration }}}}, above {p99_above}: probes "
                "start late and their results age.",
                service=service,
            ),
        ]

    def _tls_alerts(self) -> list[Rule]:
        tiers = self.alert_settings.section("tls_expiring")
        rules = []
        for severity in SEVERITIES:
            tier = tiers.section(severity)
            below = tier.duration("below")
            rules.append(
                self._alert(
                    "GhostTLSCertificateExpiring",
                    severity,
                    "(ghost_tls_cert_expiry_timestamp_seconds - time()) < " + _seconds(below),
                    tier.duration("for"),
                    "The TLS certificate of a ghost service expires soon.",
                    "The earliest certificate presented by {{ $labels.service }} expires in "
                    f"{{{{ $value | humanizeDuration }}}} (threshold {below}).",
                )
            )
        return rules

    def _slo_alerts(self) -> list[Rule]:
        slos = (
            Slo(
                alert="GhostServiceErrorBudgetBurn",
                record="ghost:service_error_ratio",
                label="service",
                objective=self.slo.fraction("service_availability"),
                what="availability",
                unit="its probes",
                summary="A ghost service burns its availability error budget too fast.",
            ),
            *self._patch_slos(),
            Slo(
                alert="GhostPipelineErrorBudgetBurn",
                record="ghost:pipeline_error_ratio",
                label="pipeline",
                objective=self.slo.fraction("pipeline_delivery"),
                what="delivery within the deadline",
                unit="its canaries (late or lost)",
                summary="A ghost real-time pipeline delivers too many canaries late or never.",
                service="{{ $labels.pipeline }}",
            ),
        )
        burn_rates = self.slo.section("burn_rates")
        names = list(self.windows)
        tiers: list[tuple[str, str, list[BurnWindow]]] = []
        for severity in SEVERITIES:
            tier = burn_rates.section(severity)
            windows = []
            for item in tier.sections("windows"):
                windows.append(
                    BurnWindow(
                        item.choice("long", names, "windows"),
                        item.choice("short", names, "windows"),
                        item.number("factor"),
                    )
                )
            tiers.append((severity, tier.duration("for"), windows))
        return [
            self._burn_alert(slo, severity, for_, windows)
            for slo in slos
            for severity, for_, windows in tiers
        ]

    def _patch_slos(self) -> list[Slo]:
        """The default patch-success objective, and one per daemon listed in
        ``patch_success_by_daemon`` (the default's rules leave those daemons out)."""
        overrides = self.slo.section("patch_success_by_daemon")
        daemons = sorted(overrides.names())
        for daemon in daemons:
            if _DAEMON_NAME.fullmatch(daemon) is None:
                raise ConfigError(
                    f"{overrides._where(daemon)}: not a daemon name (letters, digits, _ and -)"
                )

        def slo(objective: Decimal, selector: str) -> Slo:
            return Slo(
                alert="GhostPatchErrorBudgetBurn",
                record="ghost:patch_error_ratio",
                label="daemon",
                objective=objective,
                what="patch success",
                unit="its patches",
                summary="A ghost daemon burns its patch success error budget too fast.",
                service="{{ $labels.daemon }}",
                selector=selector,
            )

        default = self.slo.fraction("patch_success")
        if not daemons:
            return [slo(default, "")]
        return [slo(default, f'{{daemon!~"{"|".join(daemons)}"}}')] + [
            slo(overrides.fraction(daemon), f'{{daemon="{daemon}"}}') for daemon in daemons
        ]

    def _burn_alert(self, slo: Slo, severity: str, for_: str, windows: list[BurnWindow]) -> Rule:
        budget = 1 - slo.objective
        branches = []
        explained = []
        for window in windows:
            threshold = f"({_number(window.factor)} * (1 - {_number(slo.objective)}))"
            branches.append(
                _block(
                    "(",
                    f"  {slo.record}:rate{window.long}{slo.selector} > {threshold}",
                    "  and",
                    f"  {slo.record}:rate{window.short}{slo.selector} > {threshold}",
                    ")",
                )
            )
            explained.append(
                f"over {_percent(window.factor * budget)} for {self.windows[window.long]} "
                f"and {self.windows[window.short]} ({_number(window.factor)}x)"
            )
        return self._alert(
            slo.alert,
            severity,
            "\nor\n".join(branches),
            for_,
            slo.summary,
            f"{{{{ $labels.{slo.label} }}}} failed {{{{ $value | humanizePercentage }}}} of "
            f"{slo.unit} over the alert's long window, burning the error budget of its "
            f"{_percent(slo.objective)} {slo.what} objective ({_percent(budget)} errors) "
            f"too fast: {', or '.join(explained)}.",
            service=slo.service,
        )

    def _sync_alerts(self) -> list[Rule]:
        out_of_sync = self.alert_settings.section("monitor_out_of_sync")
        reporter_down = self.alert_settings.section("reporter_down")
        lost = self.alert_settings.section("pipeline_canary_lost")
        lost_window = lost.duration("window")
        reporter = "{{ $labels.reporter }}"
        pipeline = "{{ $labels.pipeline }}"
        return [
            self._alert(
                "GhostMonitorOutOfSync",
                "critical",
                "ghost_monitor_in_sync == 0",
                out_of_sync.duration("for"),
                "A ghost monitor reports a service state that disagrees with what is observed.",
                f"{reporter} claims {{{{ $labels.service }}}} is {_CLAIMED_STATE}, but "
                f"{{{{ $labels.instance }}}} observes it {_OBSERVED_STATE}; they have disagreed "
                f"for more than {out_of_sync.duration('for')}. Whoever trusts {reporter} sees "
                "a stale picture.",
            ),
            self._alert(
                "GhostReporterDown",
                "warning",
                "ghost_reporter_up == 0",
                reporter_down.duration("for"),
                "A ghost monitor's claims cannot be read.",
                f"The reporter {reporter} (read by {{{{ $labels.instance }}}}) has not answered "
                "with a service list that parses for more than "
                f"{reporter_down.duration('for')}: whether it agrees with reality is unknown.",
                service=reporter,
            ),
            self._alert(
                "GhostPipelineCanaryLost",
                "critical",
                _block(
                    "sum by (pipeline, observer) (",
                    f'  increase(ghost_pipeline_canaries_total{{outcome="lost"}}[{lost_window}])',
                    ") > 0",
                ),
                lost.duration("for"),
                "Ghost real-time events are lost on their way.",
                "The observer {{ $labels.observer }} of the pipeline "
                f'{pipeline} has not seen {{{{ $value | printf "%.0f" }}}} of the canaries '
                f"emitted over the last {lost_window}, not even within twice the deadline: "
                "real-time events are dropped.",
                service=pipeline,
            ),
        ]

    def _remediation_alerts(self) -> list[Rule]:
        failing = self.alert_settings.section("remediation_failing")
        window = failing.duration("window")
        throttled = self.alert_settings.section("remediation_throttled")
        throttled_window = throttled.duration("window")
        return [
            self._alert(
                "GhostRemediationFailing",
                "warning",
                _block(
                    "sum by (service, action) (",
                    "  increase("
                    f'ghost_remediations_total{{result=~"failed|skipped_limit"}}[{window}])',
                    ") > 0",
                ),
                failing.duration("for"),
                "Automatic remediation of a ghost service does not work.",
                "Remediations of {{ $labels.service }} by the ghost-remediate action "
                "{{ $labels.action }} that failed or hit the attempt limit over the last "
                f"{window}: {{{{ $value | humanize }}}}. The service needs a person.",
            ),
            self._alert(
                "GhostRemediationThrottled",
                "warning",
                _block(
                    "sum by (job, instance) (",
                    "  increase("
                    f'ghost_remediations_total{{result="skipped_global_limit"}}[{throttled_window}])',
                    ") > 0",
                ),
                throttled.duration("for"),
                "Automatic remediation is held back by its global limit.",
                "ghost-remediate at {{ $labels.instance }} held back {{ $value | humanize }} "
                "remediations over the last "
                f"{throttled_window}: more than max_actions_per_hour started within an hour "
                "across every service. Many services fail at once; look for their common cause.",
                service="ghost-remediate",
            ),
        ]


#: A daemon name in a label matcher of the generated rules (no regex or string escaping needed).
_DAEMON_NAME = re.compile(r"[A-Za-z0-9_-]+")


# What the exporter itself observes of a service, for the description of GhostMonitorOutOfSync:
# down when its probes fail, else the health state it reports.
_OBSERVED_STATE = (
    '{{ with printf "ghost_service_up{service=%q} == 0" $labels.service | query }}down'
    '{{ else }}{{ with printf "ghost_service_health{service=%q} == 1" $labels.service | query }}'
    '{{ . | first | label "state" }}{{ else }}not probed{{ end }}{{ end }}'
)
# The state the reporter claims (ghost_reported_health), for the same description.
_CLAIMED_STATE = (
    "{{ with printf "
    '"ghost_reported_health{reporter=%q,service=%q} == 1" $labels.reporter $labels.service'
    ' | query }}{{ . | first | label "state" }}{{ else }}no state{{ end }}'
)


def _ratio(part: str, total: str, by: str) -> str:
    """``part / total`` summed by ``by``; ``or 0 * total`` keeps a 0 where ``part`` has no series.

    An exporter may create a failure series only at the first failure: without the fallback a
    target that never failed would have no ratio at all instead of 0.
    """
    return _block(
        f"sum by ({by}) (",
        f"  {part}",
        f"  or 0 * {total}",
        ")",
        "/",
        f"sum by ({by}) ({total})",
    )


def _seconds(duration: str) -> str:
    """A duration as a PromQL number of seconds; whole days read as ``N * 86400``."""
    seconds = duration_seconds(duration)
    if seconds >= _DAY and seconds % _DAY == 0:
        return f"{_number(seconds / _DAY)} * 86400"
    return _number(seconds)


# --------------------------------------------------------------------------------------------
# Output


class _Dumper(yaml.SafeDumper):
    """Block style, list items indented under their key, multi-line strings as literal blocks."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _represent_str)


def render(groups: list[Group], header: str) -> str:
    body = yaml.dump(
        {"groups": groups},
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        width=4096,
        allow_unicode=True,
    )
    return header + body


def generate(config: Config, profile: str) -> dict[str, str]:
    """File name -> text of every rule file of ``profile``."""
    files = RuleBuilder(config, profile).build()
    texts = {}
    for name, groups in files.items():
        header = (
            f"# Generated by alerts/generate.py from alerts/config.yml (profile {profile}).\n"
            "# Do not edit: change alerts/config.yml or alerts/generate.py and run `make rules`.\n"
        )
        texts[name] = render(groups, header)
    return texts


def target_paths(out: Path | None) -> dict[str, Path]:
    if out is None:
        return dict(COMMITTED_PATHS)
    return {name: out / name for name in COMMITTED_PATHS}


def check(texts: Mapping[str, str], paths: Mapping[str, Path]) -> list[str]:
    """A diff-ish message for every file that differs from its generated text."""
    problems = []
    for name, text in texts.items():
        path = paths[name]
        if not path.exists():
            problems.append(f"{path}: missing")
            continue
        current = path.read_text(encoding="utf-8")
        if current != text:
            diff = difflib.unified_diff(
                current.splitlines(keepends=True),
                text.splitlines(keepends=True),
                fromfile=f"{path} (on disk)",
                tofile=f"{path} (generated)",
            )
            problems.append("".join(diff))
    return problems


def main(argv: Sequence[str] | None = None, out: Callable[[str], object] = print) -> int:
    parser = argparse.ArgumentParser(
        description="Build the ghost recording and alert rules from alerts/config.yml."
    )
    parser.add_argument("--config", type=Path, default=CONFIG_PATH, help="config file to read")
    parser.add_argument(
        "--profile", default=DEFAULT_PROFILE, help="profile of the config (default: default)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="write ghost-recording.yml and ghost-alerts.yml into this folder instead of "
        "prometheus/rules/ and alerts/",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 when the files on disk differ from the generated ones",
    )
    args = parser.parse_args(argv)
    try:
        texts = generate(load_config(args.config), args.profile)
    except ConfigError as exc:
        print(f"generate.py: {args.config}: {exc}", file=sys.stderr)
        return 2
    paths = target_paths(args.out)
    if args.check:
        problems = check(texts, paths)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print(
                "generate.py: rule files are out of date; run `make rules` "
                "(or alerts/generate.py with the same --profile/--out)",
                file=sys.stderr,
            )
            return 1
        out(f"rule files are up to date ({', '.join(str(p) for p in paths.values())})")
        return 0
    for name, text in texts.items():
        path = paths[name]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        out(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
