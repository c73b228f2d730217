"""Configuration: YAML loader with line marks, pydantic schema, cross-checks, frozen result."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ghost_exporter.config.errors import ConfigError, ErrorDetail, format_path
from ghost_exporter.config.loader import LoadedDocument, load_file, load_text
from ghost_exporter.config.model import Config, Kind, Target
from ghost_exporter.config.schema import ConfigFile, Defaults
from ghost_exporter.config.validate import Staged, validate_staged
from ghost_exporter.metrics import RESERVED_LABELS

__all__ = [
    "Config",
    "ConfigError",
    "ErrorDetail",
    "Kind",
    "Target",
    "load_config",
    "parse_config",
]


def _cross_checks(doc: LoadedDocument, staged: Staged[ConfigFile]) -> list[ErrorDetail]:
    """Checks across entries, over every part that validated (a bad entry hides nothing)."""
    details: list[ErrorDetail] = []
    seen: dict[str, str] = {}
    defaults: Defaults | None = staged.fields.get("defaults")
    entries: list[tuple[str, int, Any]] = [
        ("services", i, s) for i, s in staged.entries("services")
    ]
    entries += [("daemons", i, d) for i, d in staged.entries("daemons")]
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


def _build(doc: LoadedDocument, parsed: ConfigFile) -> Config:
    targets: list[Target] = []
    for service in parsed.services:
        kind: Kind = "http" if service.http else "websocket" if service.websocket else "tcp"
        targets.append(_target(parsed, service, kind))
    for daemon in parsed.daemons:
        targets.append(_target(parsed, daemon, "daemon"))
    return Config(tuple(targets), doc.file)


def _target(parsed: ConfigFile, entry: Any, kind: Kind) -> Target:
    spec = entry if kind == "daemon" else getattr(entry, kind)
    assert spec is not None
    return Target(
        name=entry.name,
        kind=kind,
        spec=spec,
        interval=entry.interval or parsed.defaults.interval,
        timeout=entry.timeout or parsed.defaults.timeout,
        labels=tuple(sorted(entry.labels.items())),
    )


def parse_document(doc: LoadedDocument) -> Config:
    """Validate loaded YAML data into a Config, or raise ConfigError with every problem.

    No message shows a value read through ``!env`` or ``!file``."""
    try:
        return _parse_document(doc)
    except ConfigError as exc:
        raise exc.redacted(doc.secrets) from None


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
