"""Loaded YAML against a pydantic model: every problem a ConfigError detail with file and line.

A document is checked in one pass that reports every problem: pydantic's errors for the whole
document, and, for the cross-checks that follow, the parts that validated on their own (each
top-level key, and each item of a top-level list under its own index), so that one bad entry
never hides a duplicate name or a reserved label elsewhere.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, TypeVar, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError

from ghost_common.errors import ConfigError, ErrorDetail, format_path
from ghost_common.loader import LoadedDocument

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


@dataclass(frozen=True, slots=True)
class Staged(Generic[Model]):
    """A document checked against a model.

    ``model`` is the whole document when it validated and nothing was left unread (an unset
    ``!env``); ``details`` every problem found so far. ``fields`` holds each top-level key that
    validated on its own (absent keys with a default: the default); ``items`` each top-level list's
    items that validated, with their index in the file.
    """

    model: Model | None
    details: list[ErrorDetail]
    fields: dict[str, Any] = field(default_factory=dict)
    items: dict[str, list[tuple[int, Any]]] = field(default_factory=dict)

    def entries(self, name: str) -> list[tuple[int, Any]]:
        """The items of the top-level list ``name`` that validated, with their index."""
        return self.items.get(name, [])


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith((prefix + ".", prefix + "["))


def validate_staged(doc: LoadedDocument, model: type[Model]) -> Staged[Model]:
    """Validate a document's data (a mapping; an empty document is an empty mapping)."""
    data = {} if doc.data is None else doc.data
    loaded = list(doc.errors)
    if not isinstance(data, dict):
        loaded.append(ErrorDetail(doc.file, doc.line_of(()), "", "the top level must be a mapping"))
        return Staged(None, loaded)
    try:
        whole = model.model_validate(data)
    except ValidationError as exc:
        # A value that could not be read is reported once, by the loader, not as its empty
        # stand-in's validation error too (an unknown key stays an error of its own).
        found = [
            d
            for d in validation_details(doc, exc)
            if d.message == _MESSAGES["extra_forbidden"]
            or not any(_under(d.path, e.path) for e in doc.errors if e.path)
        ]
        try:
            fields, items = _parts(data, model)
        except RecursionError:
            fields, items = {}, {}
        return Staged(None, loaded + found, fields, items)
    except RecursionError:
        loaded.append(ErrorDetail(doc.file, None, "", "document nested too deeply"))
        return Staged(None, loaded)
    fields = {name: getattr(whole, name) for name in type(whole).model_fields}
    items = {name: list(enumerate(value)) for name, value in fields.items() if _is_list(value)}
    return Staged(None if loaded else whole, loaded, fields, items)


def _is_list(value: object) -> bool:
    return isinstance(value, list | tuple)


def _parts(
    data: dict[str, Any], model: type[BaseModel]
) -> tuple[dict[str, Any], dict[str, list[tuple[int, Any]]]]:
    """Each top-level key of ``data`` validated on its own; a list also item by item."""
    fields: dict[str, Any] = {}
    items: dict[str, list[tuple[int, Any]]] = {}
    for name, info in model.model_fields.items():
        if name not in data:
            if not info.is_required():
                fields[name] = info.get_default(call_default_factory=True)
            continue
        raw = data[name]
        annotated: Any = Annotated[info.annotation, info]  # the field's type and constraints
        with contextlib.suppress(ValidationError):
            fields[name] = TypeAdapter(annotated).validate_python(raw)
        if get_origin(info.annotation) is list and isinstance(raw, list):
            adapter: TypeAdapter[Any] = TypeAdapter(get_args(info.annotation)[0])
            good = []
            for index, item in enumerate(raw):
                try:
                    good.append((index, adapter.validate_python(item)))
                except ValidationError:
                    continue
            items[name] = good
    return fields, items


def validate_document(doc: LoadedDocument, model: type[Model]) -> Model:
    """The whole document as ``model``, or ConfigError with every problem pydantic found."""
    staged = validate_staged(doc, model)
    if staged.model is None:
        raise ConfigError(staged.details)
    return staged.model
