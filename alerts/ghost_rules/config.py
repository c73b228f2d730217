"""alerts/config.yml as a pydantic model: shared settings and one merged model per profile.

The file is read with the exporter's YAML loader, which keeps the line of every key, so that each
problem reads ``alerts/config.yml:LINE: key.path: message``. A profile other than ``default``
lists only what it changes: it is merged key by key onto ``default`` (lists and scalars replace
whole) before it is validated, and a problem in what it inherits is reported once, under
``profiles.default``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Final

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

# The project's one YAML loader and error type (file:line: key.path: message).
from ghost_common.errors import ConfigError, ErrorDetail, format_path
from ghost_common.loader import KeyPath, LoadedDocument, load_file
from ghost_common.units import parse_duration
from ghost_common.validate import validation_details

from .sloth import sloth_groups
from .sloth_config import CONFIG_KEY, config_slos
from .sloth_spec import SlothSpecError

__all__ = [
    "CONFIG_PATH",
    "DEFAULT_PROFILE",
    "Config",
    "ConfigError",
    "Profile",
    "RulesFile",
    "load_config",
]

CONFIG_PATH: Final = Path(__file__).resolve().parent.parent / "config.yml"
DEFAULT_PROFILE: Final = "default"
#: Labels the rules set themselves; alert_labels may not.
RESERVED_ALERT_LABELS: Final = ("severity", "service")


# --------------------------------------------------------------------------------------------
# Value types


_WHOLE_UNITS = re.compile(r"^(?:\d+(?:ms|y|w|d|h|m|s))+$")


def _duration(value: object) -> str:
    """A Prometheus duration, kept as written: it goes into the rule files verbatim."""
    if not isinstance(value, str):
        raise ValueError(f"expected a Prometheus duration, got {value!r}")
    try:
        parse_duration(value)
    except ValueError:
        raise ValueError(f"expected a Prometheus duration, got {value!r}") from None
    if _WHOLE_UNITS.fullmatch(value) is None:  # 1.5h or a bare 0: parsed, but not by Prometheus
        raise ValueError(
            f"rule files take a whole number of each unit (e.g. 1h30m, 0s), got {value!r}"
        )
    return value


def _number(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {value!r}")
    number = Decimal(str(value))
    if not number.is_finite() or number <= 0:
        raise ValueError(f"must be positive, got {value!r}")
    return number


def _fraction(value: object) -> Decimal:
    number = _number(value)
    if number >= 1:
        raise ValueError(f"must be between 0 and 1, got {number}")
    return number


def _positive_integer(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"expected a positive integer, got {value!r}")
    return value


def _text(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("expected a non-empty string")
    return value


_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_MATCHER = r'\s*[a-zA-Z_][a-zA-Z0-9_]*\s*(?:=~|!~|!=|=)\s*"(?:[^"\\\n]|\\.)*"\s*'
_MATCHERS = re.compile(rf"(?:{_MATCHER}(?:,{_MATCHER})*)?")


def _matchers(value: object) -> str:
    """Label matchers as they go between the braces of a selector: ``job=~"ghost.*"``."""
    if not isinstance(value, str) or "`" in value or _MATCHERS.fullmatch(value) is None:
        raise ValueError(
            "expected PromQL label matchers separated by commas, such as "
            f'job=~"ghost.*", namespace="monitoring"; got {value!r}'
        )
    return ", ".join(part.strip() for part in _split_matchers(value))


def _split_matchers(text: str) -> list[str]:
    return [m.group(0) for m in re.finditer(_MATCHER, text)]


#: Labels the rules group by or set themselves: a cluster label must be another one.
RULE_LABELS: Final = frozenset(
    [
        "action",
        "daemon",
        "instance",
        "job",
        "le",
        "observer",
        "outcome",
        "pipeline",
        "reason",
        "reporter",
        "result",
        "service",
        "severity",
        "state",
    ]
)


def _cluster_label(value: object) -> str:
    if not isinstance(value, str) or (
        value and (_LABEL_NAME.fullmatch(value) is None or value.startswith("__"))
    ):
        raise ValueError(f"expected a label name (or '' for none), got {value!r}")
    if value in RULE_LABELS:
        raise ValueError(f"{value!r} is a label the rules use themselves; name another one")
    return value


Duration = Annotated[str, BeforeValidator(_duration)]
Number = Annotated[Decimal, BeforeValidator(_number)]
Fraction = Annotated[Decimal, BeforeValidator(_fraction)]
PositiveInt = Annotated[int, BeforeValidator(_positive_integer)]
Text = Annotated[str, BeforeValidator(_text)]
Matchers = Annotated[str, BeforeValidator(_matchers)]
LabelName = Annotated[str, BeforeValidator(_cluster_label)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# --------------------------------------------------------------------------------------------
# Shared settings


class Selectors(_Model):
    """Label matchers added to every selector of a raw series, as the mixins' ``_config`` does."""

    #: ghost-exporter's series (ghost_service_up, ghost_patches_total, ...), and ``up`` of
    #: ``exporter_job``.
    exporter: Matchers = ""
    #: ghost-remediate's series (ghost_remediations_total).
    remediate: Matchers = ""


class RulesFile(_Model):
    """The top level of alerts/config.yml; ``profiles`` is checked profile by profile."""

    runbook_base_url: Text
    alert_labels: dict[str, Text]
    exporter_job: Text
    exporter_service: Text
    selectors: Selectors = Selectors()
    cluster_label: LabelName = ""
    profiles: dict[str, Any]
    #: Sloth prometheus/v1 documents, checked by :mod:`.sloth_config`.
    sloth_specs: list[Any] = []


# --------------------------------------------------------------------------------------------
# A profile


class Recording(_Model):
    patches: Duration
    probe_duration: Duration
    availability: Duration
    pipelines: Duration


class BurnWindow(_Model):
    long: str
    short: str
    factor: Number


class BurnTier(_Model):
    for_: Duration = Field(alias="for")
    windows: list[BurnWindow] = Field(min_length=1)


class BurnRates(_Model):
    critical: BurnTier
    warning: BurnTier

    def tiers(self) -> list[tuple[str, BurnTier]]:
        return [("critical", self.critical), ("warning", self.warning)]


class Slo(_Model):
    service_availability: Fraction
    patch_success: Fraction
    patch_success_by_daemon: dict[str, Fraction]
    pipeline_delivery: Fraction
    burn_rates: BurnRates


class For(_Model):
    for_: Duration = Field(alias="for")


class ProbeLatency(For):
    p95_above: Duration


class WebSocketStale(For):
    lag_above: Duration


class WebSocketSilent(For):
    window: Duration
    timeout_ratio_above: Fraction
    lookback: Duration


class PatchSuccessLow(For):
    success_below: Fraction
    min_patches: PositiveInt


class Windowed(For):
    window: Duration


class ExporterSaturated(Windowed):
    p99_above: Duration


class TlsTier(For):
    below: Duration


class TlsExpiring(_Model):
    warning: TlsTier
    critical: TlsTier


class Alerts(_Model):
    service_down: For
    service_unhealthy: For
    service_degraded: For
    probe_latency_high: ProbeLatency
    websocket_stale: WebSocketStale
    websocket_silent: WebSocketSilent
    patch_success_low: PatchSuccessLow
    patches_stalled: Windowed
    daemon_down: For
    exporter_down: For
    exporter_absent: For
    exporter_reload_failed: For
    exporter_saturated: ExporterSaturated
    tls_expiring: TlsExpiring
    remediation_failing: Windowed
    remediation_throttled: Windowed
    monitor_out_of_sync: For
    reporter_down: For
    pipeline_canary_lost: Windowed


class Profile(_Model):
    evaluation_interval: Duration | None
    windows: dict[str, Duration]
    recording: Recording
    slo: Slo
    alerts: Alerts


@dataclass(frozen=True, slots=True)
class Config:
    """The config file: shared settings and each profile merged onto ``default``."""

    file: str
    settings: RulesFile
    profiles: dict[str, Profile]

    @property
    def runbook_base_url(self) -> str:
        return self.settings.runbook_base_url.rstrip("#")

    def profile(self, name: str) -> Profile:
        if name not in self.profiles:
            known = ", ".join(sorted(self.profiles))
            raise ConfigError(
                [ErrorDetail(self.file, None, "", f"unknown profile {name!r} (known: {known})")]
            )
        return self.profiles[name]


# --------------------------------------------------------------------------------------------
# Loading


_WINDOW_NAME = re.compile(r"[A-Za-z0-9_]+")
#: A daemon name in a label matcher of the generated rules (no regex or string escaping needed).
_DAEMON_NAME = re.compile(r"[A-Za-z0-9_-]+")


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` merged key by key onto ``base``; lists and scalars are replaced whole."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _details(doc: LoadedDocument, exc: ValidationError, prefix: KeyPath) -> list[ErrorDetail]:
    """pydantic's errors with ``prefix`` before each key path (a dict key's own error is
    reported at the key)."""
    found = []
    for detail in validation_details(doc, exc):
        path = detail.path.removesuffix(".[key]")
        full = format_path(prefix) + ("." + path if path else "") if prefix else path
        found.append(ErrorDetail(detail.file, detail.line, full, detail.message))
    return found


def _profile_checks(profile: Profile, where: KeyPath) -> list[tuple[KeyPath, str]]:
    """What the schema alone does not check: names that go into rule names and matchers."""
    problems: list[tuple[KeyPath, str]] = []
    for name in profile.windows:
        if _WINDOW_NAME.fullmatch(name) is None:
            problems.append(
                ((*where, "windows", name), "not a window name (letters, digits and _)")
            )
    names = list(profile.windows)
    for severity, tier in profile.slo.burn_rates.tiers():
        for index, window in enumerate(tier.windows):
            for key in ("long", "short"):
                value = getattr(window, key)
                if value not in names:
                    path = (*where, "slo", "burn_rates", severity, "windows", index, key)
                    problems.append(
                        (path, f"{value!r} is not one of the windows ({', '.join(names)})")
                    )
    for daemon in sorted(profile.slo.patch_success_by_daemon):
        if _DAEMON_NAME.fullmatch(daemon) is None:
            path = (*where, "slo", "patch_success_by_daemon", daemon)
            problems.append((path, "not a daemon name (letters, digits, _ and -)"))
    return problems


def _profile_lines(doc: LoadedDocument, name: str) -> dict[KeyPath, int]:
    """Key path inside the merged profile -> line: the profile's own key, else the default's."""
    lines: dict[KeyPath, int] = {}
    for source in (DEFAULT_PROFILE, name):
        head = ("profiles", source)
        for path, line in doc.lines.items():
            if path[:2] == head:
                lines[path[2:]] = line
    return lines


def _load_profiles(
    doc: LoadedDocument, raw: Mapping[str, Any]
) -> tuple[dict[str, Profile], list[ErrorDetail]]:
    details: list[ErrorDetail] = []
    profiles: dict[str, Profile] = {}
    default = raw.get(DEFAULT_PROFILE)
    if not isinstance(default, Mapping):
        line = doc.line_of(("profiles",))
        message = f"expected a mapping with a {DEFAULT_PROFILE!r} profile"
        return {}, [ErrorDetail(doc.file, line, "profiles", message)]
    inherited: set[tuple[str, str]] = set()
    for name in [DEFAULT_PROFILE, *(n for n in raw if n != DEFAULT_PROFILE)]:
        where: KeyPath = ("profiles", name)
        override = raw[name]
        if not isinstance(override, Mapping):
            details.append(
                ErrorDetail(doc.file, doc.line_of(where), format_path(where), "expected a mapping")
            )
            continue
        merged = _merge(default, override)
        view = LoadedDocument(merged, _profile_lines(doc, name), doc.file)
        try:
            profile = Profile.model_validate(merged)
        except ValidationError as exc:
            found = _details(view, exc, where)
        else:
            profiles[name] = profile
            found = [
                ErrorDetail(doc.file, view.line_of(path[2:]), format_path(path), message)
                for path, message in _profile_checks(profile, where)
            ]
        for detail in found:
            # What a profile inherits from default is default's problem: reported once.
            relative = (detail.path.removeprefix(format_path(where)), detail.message)
            if name == DEFAULT_PROFILE:
                inherited.add(relative)
            elif relative in inherited:
                continue
            details.append(detail)
    return profiles, details


def parse_document(doc: LoadedDocument) -> Config:
    """The config of a loaded document, or ConfigError with every problem and its line."""
    details = list(doc.errors)
    data = {} if doc.data is None else doc.data
    if not isinstance(data, dict):
        raise ConfigError(
            [ErrorDetail(doc.file, doc.line_of(()), "", "the top level must be a mapping")]
        )
    try:
        settings: RulesFile | None = RulesFile.model_validate(data)
    except ValidationError as exc:
        settings = None
        details += _details(doc, exc, ())
    profiles: dict[str, Profile] = {}
    raw = data.get("profiles")
    if isinstance(raw, Mapping):
        profiles, found = _load_profiles(doc, raw)
        details += found
    labels = data.get("alert_labels")
    for label in RESERVED_ALERT_LABELS:
        if isinstance(labels, Mapping) and label in labels:
            path: KeyPath = ("alert_labels", label)
            message = "set by the generator, not by the config"
            details.append(ErrorDetail(doc.file, doc.line_of(path), format_path(path), message))
    if settings is not None and not details:
        details += _sloth_checks(doc, settings.sloth_specs, profiles)
    if details or settings is None:
        raise ConfigError(details).redacted(doc.secrets)
    return Config(doc.file, settings, profiles)


_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _key_path(text: str) -> KeyPath:
    """``sloth_specs[1].slos[0].objective`` as a key path."""
    return tuple(int(index) if index else key for key, index in _PATH_PART.findall(text))


def _sloth_checks(
    doc: LoadedDocument, specs: list[Any], profiles: Mapping[str, Profile]
) -> list[ErrorDetail]:
    """The Sloth SLOs of every profile and spec can be built: every problem, with its line."""
    details: list[ErrorDetail] = []
    for profile in profiles.values():
        try:
            sloth_groups(config_slos(profile, specs))
        except SlothSpecError as exc:
            problems = exc.problems
        except ValueError as exc:
            problems = [(CONFIG_KEY, str(exc))]
        else:
            continue
        for where, message in problems:
            detail = ErrorDetail(doc.file, doc.line_of(_key_path(where)), where, message)
            if detail not in details:
                details.append(detail)
    return details


def load_config(path: Path = CONFIG_PATH) -> Config:
    """Read and check the config file; a mistake in any profile fails (every profile is built
    by some run, ``--check`` included)."""
    return parse_document(load_file(path))
