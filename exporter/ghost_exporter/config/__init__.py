"""Configuration: YAML loader with line marks, pydantic schema, cross-checks, frozen result."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from ghost_common.errors import ConfigError, ErrorDetail, format_path
from ghost_common.loader import LoadedDocument, load_file, load_text, parse_redacted
from ghost_common.validate import Staged, validate_staged
from ghost_exporter.config.model import Config, Target
from ghost_exporter.config.schema import Defaults
from ghost_exporter.metrics import RESERVED_LABELS

if TYPE_CHECKING:
    from ghost_exporter.kinds.kind import Kind, KindTable

__all__ = [
    "Config",
    "ConfigError",
    "ErrorDetail",
    "Target",
    "load_config",
    "parse_config",
]


#: Top-level section -> the kinds listed in it.
Sections = dict[str, tuple["Kind", ...]]


def _kind_labels(kinds: Sections) -> frozenset[str]:
    """The labels the kinds set on their series: each one's identity label and the labels of
    its families."""
    labels: set[str] = set()
    for in_section in kinds.values():
        for kind in in_section:
            labels.add(kind.identity_label)
            labels.update(label for family in kind.families for label in family.labels)
    return frozenset(labels)


def _cross_checks(
    doc: LoadedDocument, staged: Staged[BaseModel], kinds: Sections
) -> list[ErrorDetail]:
    """Checks across entries, over every part that validated (a bad entry hides nothing)."""
    details: list[ErrorDetail] = []
    seen: dict[str, str] = {}
    defaults: Defaults | None = staged.fields.get("defaults")
    entries: list[tuple[str, int, Any]] = [
        (section, i, entry) for section in kinds for i, entry in staged.entries(section)
    ]
    reserved = RESERVED_LABELS | _kind_labels(kinds)
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
            if label in reserved or label.startswith("__"):
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
    for section, in_section in kinds.items():
        for kind in in_section:
            if kind.checks is not None:
                for index, entry in staged.entries(section):
                    details += kind.checks(doc, defaults, index, entry)
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


def _build(doc: LoadedDocument, parsed: Any, kinds: Sections) -> Config:
    targets: list[Target] = []
    for section, in_section in kinds.items():
        for entry in getattr(parsed, section):
            if in_section[0].is_service:  # a service's spec is its one key of a service kind
                kind = next(k for k in in_section if getattr(entry, k.name) is not None)
                targets.append(_target(parsed.defaults, entry, kind, getattr(entry, kind.name)))
            else:  # the spec is the whole entry
                targets.append(_target(parsed.defaults, entry, in_section[0], entry))
    return Config(tuple(targets), doc.file)


def _target(defaults: Defaults, entry: Any, kind: Kind, spec: BaseModel) -> Target:
    timeout = entry.timeout or defaults.timeout
    return Target(
        name=entry.name,
        kind=kind.name,
        spec=spec,
        interval=entry.interval or defaults.interval,
        timeout=timeout,
        round_timeout=kind.round_timeout(spec, timeout) if kind.round_timeout else timeout,
        identity_label=kind.identity_label,
        is_service=kind.is_service,
        labels=tuple(sorted(entry.labels.items())),
        retries=getattr(entry, "retries", 0),
        retry_delay=getattr(entry, "retry_delay", 0.2),
        interval_when_failing=getattr(entry, "interval_when_failing", None),
    )


def parse_document(doc: LoadedDocument, kinds: KindTable | None = None) -> Config:
    """Validate loaded YAML data into a Config, or raise ConfigError with every problem.

    ``kinds`` is the table of kinds the file is read with (``ghost_exporter.kinds.KIND_TABLE``
    unless given). No message shows a value read through ``!env`` or ``!file``."""
    return parse_redacted(doc, lambda loaded: _parse_document(loaded, kinds))


def _parse_document(doc: LoadedDocument, kinds: KindTable | None) -> Config:
    # The kinds are made of config's parts (schema types, errors): imported here, on first use.
    from ghost_exporter.kinds import KIND_TABLE, ConfigFile
    from ghost_exporter.kinds.kind import config_file_model, sections

    data = doc.data
    if data is None:  # also what a reload reads while an editor rewrites the file in place
        raise ConfigError([ErrorDetail(doc.file, None, "", "the file is empty")])
    model = ConfigFile if kinds is None else config_file_model(kinds)
    by_section = sections(KIND_TABLE if kinds is None else kinds)
    staged = validate_staged(doc, model)
    details = staged.details + _cross_checks(doc, staged, by_section)
    if details or staged.model is None:
        raise ConfigError(details)
    return _build(doc, staged.model, by_section)


def parse_config(
    text: str,
    file: str = "<config>",
    base_dir: Path | None = None,
    kinds: KindTable | None = None,
) -> Config:
    """Parse configuration text (used by tests and the embedded default)."""
    return parse_document(load_text(text, file, base_dir), kinds)


def load_config(path: str | Path) -> Config:
    """Load and validate a configuration file."""
    return parse_document(load_file(path))
