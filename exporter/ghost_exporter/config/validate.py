"""Loaded YAML against a pydantic model: every problem a ConfigError detail with file and line."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError

from ghost_exporter.config.errors import ConfigError, ErrorDetail, format_path
from ghost_exporter.config.loader import LoadedDocument

Model = TypeVar("Model", bound=BaseModel)

_MESSAGES = {
    "extra_forbidden": "unknown key",
    "missing": "missing required key",
}


def validation_details(doc: LoadedDocument, exc: ValidationError) -> list[ErrorDetail]:
    """pydantic's errors as details: key path, line, and the message without input values."""
    details = []
    for err in exc.errors(include_input=False, include_url=False):
        loc: tuple[str | int, ...] = tuple(
            p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))
        )
        message = _MESSAGES.get(err["type"], err["msg"]).removeprefix("Value error, ")
        details.append(ErrorDetail(doc.file, doc.line_of(loc), format_path(loc), message))
    return details


def validate_document(doc: LoadedDocument, model: type[Model]) -> Model:
    """Validate a document's data (a mapping; an empty document is an empty mapping)."""
    data = {} if doc.data is None else doc.data
    if not isinstance(data, dict):
        raise ConfigError(
            [ErrorDetail(doc.file, doc.line_of(()), "", "the top level must be a mapping")]
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(validation_details(doc, exc)) from None
    except RecursionError:
        raise ConfigError([ErrorDetail(doc.file, None, "", "document nested too deeply")]) from None
