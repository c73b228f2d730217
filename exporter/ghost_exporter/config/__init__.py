"""Configuration: YAML loader with line marks, pydantic schema, cross-checks, frozen result."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ghost_common.errors import ConfigError, ErrorDetail, format_path
from ghost_common.loader import LoadedDocument, load_file, load_text, parse_redacted
from ghost_common.validate import Staged, validate_staged
from ghost_exporter.config.model import KINDS, Config, Kind, Target
from ghost_exporter.config.schema import ConfigFile, Defaults, Pipeline
from ghost_exporter.metrics import RESERVED_LABELS

__all__ = [
    "KINDS",
    "Config",
    "ConfigError",
    "ErrorDetail",
    "Kind",
    "Target",
    "load_config",
    "parse_config",
]


#: Kinds whose spec is the whole config entry (a service's spec is its ``http``, ``tcp``, …).
_WHOLE_ENTRY = frozenset({"daemon", "reporter", "pipeline"})


def _cross_checks(doc: LoadedDocument, staged: Staged[ConfigFile]) -> list[ErrorDetail]:
    """Checks across entries, over every part that validated (a bad entry hides nothing)."""
    details: list[ErrorDetail] = []
    seen: dict[str, str] = {}
    defaults: Defaults | None = staged.fields.get("defaults")
    entries: list[tuple[str, int, Any]] = [
        ("services", i, s) for i, s in staged.entries("services")
    ]
    entries += [("daemons", i, d) for i, d in staged.entries("daemons")]
    entries += [("reporters", i, r) for i, r in staged.entries("reporters")]
    entries += [("pipelines", i, p) for i, p in staged.entries("pipelines")]
    for section, index, entry in entries:
        path: tuple[str | int, ...] = (section, index)
        where = format_path(path)
        if entry.name in seen:
            details.append(
                ErrorDetail(
                    doc.file,
                    doc.line_of((*path, "name")),
                    f"{where}.name",
                    f"duplicate name {entry.name!r} (first used by {seen[entry.name]})",
                )
            )
        else:
            seen[entry.name] = where
        for label in entry.labels:
            if label in RESERVED_LABELS or label.startswith("__"):
                details.append(
                    ErrorDetail(
                        doc.file,
                        doc.line_of((*path, "labels", label)),
                        f"{where}.labels.{label}",
                        f"label name {label!r} is reserved by the exporter",
                    )
                )
        interval = entry.interval or (defaults.interval if defaults else None)
        timeout = entry.timeout or (defaults.timeout if defaults else None)
        if interval is not None and timeout is not None and timeout > interval:
            key = "timeout" if entry.timeout is not None else "interval"
            details.append(
                ErrorDetail(
                    doc.file,
                    doc.line_of((*path, key)),
                    f"{where}.{key}",
                    f"timeout {timeout:g}s is longer than the interval {interval:g}s",
                )
            )
        failing = getattr(entry, "interval_when_failing", None)
        if failing is not None and interval is not None and timeout is not None:
            if failing > interval:
                problem = f"must not be longer than the interval {interval:g}s"
            elif failing < timeout:
                problem = f"must not be shorter than the timeout {timeout:g}s"
            else:
                problem = ""
            if problem:
                details.append(
                    ErrorDetail(
                        doc.file,
                        doc.line_of((*path, "interval_when_failing")),
                        f"{where}.interval_when_failing",
                        f"interval_when_failing {failing:g}s {problem}",
                    )
                )
    for index, pipeline in staged.entries("pipelines"):
        details += _pipeline_checks(doc, defaults, index, pipeline)
    if defaults is not None and defaults.timeout > defaults.interval:
        details.append(
            ErrorDetail(
                doc.file,
                doc.line_of(("defaults", "timeout")),
                "defaults.timeout",
                "timeout is longer than the interval",
            )
        )
    return details


def _pipeline_checks(
    doc: LoadedDocument, defaults: Defaults | None, index: int, pipeline: Pipeline
) -> list[ErrorDetail]:
    details: list[ErrorDetail] = []
    path: tuple[str | int, ...] = ("pipelines", index)
    where = format_path(path)
    interval = pipeline.interval or (defaults or Defaults()).interval
    if 2 * pipeline.deadline >= interval:
        key = "deadline" if "deadline" in pipeline.model_fields_set else "interval"
        details.append(
            ErrorDetail(
                doc.file,
                doc.line_of((*path, key)),
                f"{where}.{key}",
                f"deadline {pipeline.deadline:g}s must be less than half the interval "
                f"{interval:g}s: a round waits up to twice the deadline before the next one",
            )
        )
    seen: dict[str, int] = {}
    for i, observer in enumerate(pipeline.observe):
        if observer.name in seen:
            details.append(
                ErrorDetail(
                    doc.file,
                    doc.line_of((*path, "observe", i, "name")),
                    f"{where}.observe[{i}].name",
                    f"duplicate observer name {observer.name!r} "
                    f"(first used by observe[{seen[observer.name]}])",
                )
            )
        else:
            seen[observer.name] = i
    return details


def _build(doc: LoadedDocument, parsed: ConfigFile) -> Config:
    targets: list[Target] = []
    for service in parsed.services:
        kind: Kind = "http" if service.http else "websocket" if service.websocket else "tcp"
        targets.append(_target(parsed, service, kind))
    for daemon in parsed.daemons:
        targets.append(_target(parsed, daemon, "daemon"))
    for reporter in parsed.reporters:
        targets.append(_target(parsed, reporter, "reporter"))
    for pipeline in parsed.pipelines:
        targets.append(_target(parsed, pipeline, "pipeline"))
    return Config(tuple(targets), doc.file)


def _target(parsed: ConfigFile, entry: Any, kind: Kind) -> Target:
    spec = entry if kind in _WHOLE_ENTRY else getattr(entry, kind)
    assert spec is not None
    return Target(
        name=entry.name,
        kind=kind,
        spec=spec,
        interval=entry.interval or parsed.defaults.interval,
        timeout=entry.timeout or parsed.defaults.timeout,
        labels=tuple(sorted(entry.labels.items())),
        retries=getattr(entry, "retries", 0),
        retry_delay=getattr(entry, "retry_delay", 0.2),
        interval_when_failing=getattr(entry, "interval_when_failing", None),
    )


def parse_document(doc: LoadedDocument) -> Config:
    """Validate loaded YAML data into a Config, or raise ConfigError with every problem.

    No message shows a value read through ``!env`` or ``!file``."""
    return parse_redacted(doc, _parse_document)


def _parse_document(doc: LoadedDocument) -> Config:
    data = doc.data
    if data is None:  # also what a reload reads while an editor rewrites the file in place
        raise ConfigError([ErrorDetail(doc.file, None, "", "the file is empty")])
    staged = validate_staged(doc, ConfigFile)
    details = staged.details + _cross_checks(doc, staged)
    if details or staged.model is None:
        raise ConfigError(details)
    return _build(doc, staged.model)


def parse_config(text: str, file: str = "<config>", base_dir: Path | None = None) -> Config:
    """Parse configuration text (used by tests and the embedded default)."""
    return parse_document(load_text(text, file, base_dir))


def load_config(path: str | Path) -> Config:
    """Load and validate a configuration file."""
    return parse_document(load_file(path))
