"""YAML loading that keeps the line of every key, with ``!env`` and ``!file`` tags for secrets.

Every configuration file of every program is read here (``load_file``/``load_text``) and checked
through ``parse_redacted``, so that no error message shows a value read through a tag."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

from ghost_common.errors import ConfigError, ErrorDetail, format_path

#: A config file larger than this is refused before parsing.
MAX_FILE_BYTES = 4 * 1024 * 1024
#: More YAML nodes than this (aliases counted each time they are used) is refused: a YAML bomb.
MAX_NODES = 200_000
#: Deeper key paths than this are refused; a recursive alias (``a: &a [*a]``) is infinitely deep.
MAX_DEPTH = 32

KeyPath = tuple[str | int, ...]
Parsed = TypeVar("Parsed")


@dataclass(frozen=True, slots=True)
class LoadedDocument:
    """The plain data of a YAML file and the line (1-based) of each key path in it."""

    data: Any
    lines: dict[KeyPath, int]
    file: str
    #: The values read through ``!env`` and ``!file``: never shown in an error message.
    secrets: tuple[str, ...] = ()
    #: ``!env`` and ``!file`` values that could not be read, with their key path; the value
    #: in ``data`` is an empty string, so that the rest of the file is still checked.
    errors: tuple[ErrorDetail, ...] = ()

    def line_of(self, path: KeyPath) -> int | None:
        """The line of ``path`` or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return None


class _Loader(yaml.SafeLoader):
    """SafeLoader with ``!env NAME`` and ``!file PATH``, resolving files beside the config."""

    base_dir: Path = Path(".")
    secrets: list[str]
    #: Tags whose value could not be read: the node and the message.
    unresolved: list[tuple[yaml.Node, str]]


class _Unresolved(Exception):
    """A ``!env`` or ``!file`` value that cannot be read; the document is still loaded."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _tag(
    construct: Callable[[_Loader, yaml.Node], str],
) -> Callable[[_Loader, yaml.Node], str]:
    """``construct`` with its ``_Unresolved`` recorded on the loader and an empty value."""

    def wrapper(loader: _Loader, node: yaml.Node) -> str:
        try:
            return construct(loader, node)
        except _Unresolved as exc:
            loader.unresolved.append((node, exc.message))
            return ""

    return wrapper


def _construct_env(loader: _Loader, node: yaml.Node) -> str:
    name = loader.construct_scalar(node)  # type: ignore[arg-type]
    if not isinstance(name, str) or not name:
        raise _Unresolved("!env needs the name of an environment variable")
    value = os.environ.get(name)
    if value is None:
        raise _Unresolved(f"environment variable {name} is not set")
    loader.secrets.append(value)
    return value


def _construct_file(loader: _Loader, node: yaml.Node) -> str:
    name = loader.construct_scalar(node)  # type: ignore[arg-type]
    if not isinstance(name, str) or not name:
        raise _Unresolved("!file needs a file path")
    path = Path(name)
    if not path.is_absolute():
        path = loader.base_dir / path
    try:
        raw = _read_regular_file(path)
    except OSError as exc:
        raise _Unresolved(f"cannot read file {name}: {exc.strerror}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise _Unresolved(f"file {name} is too large")
    try:
        value = raw.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        raise _Unresolved(f"file {name} is not UTF-8 text") from None
    loader.secrets.append(value)
    return value


_Loader.add_constructor("!env", _tag(_construct_env))
_Loader.add_constructor("!file", _tag(_construct_file))


def _collect_lines(root: yaml.Node, paths: dict[int, KeyPath]) -> dict[KeyPath, int]:
    """Map every key path to the line of its key, counting nodes to stop YAML bombs; ``paths``
    gets the first key path of every scalar node (by ``id``)."""
    lines: dict[KeyPath, int] = {(): root.start_mark.line + 1}
    stack: list[tuple[KeyPath, yaml.Node]] = [((), root)]
    count = 0
    while stack:
        path, node = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise _TooLarge(
                f"document too large: more than {MAX_NODES} nodes once aliases are expanded"
            )
        if len(path) > MAX_DEPTH:
            raise _TooLarge(
                f"document nested too deeply: more than {MAX_DEPTH} levels "
                "(or an alias that contains itself)"
            )
        if isinstance(node, yaml.ScalarNode):
            paths.setdefault(id(node), path)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    sub = (*path, str(key.value))
                    lines.setdefault(sub, key.start_mark.line + 1)
                    stack.append((sub, value))
                else:
                    stack.append((path, value))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                sub = (*path, i)
                lines.setdefault(sub, item.start_mark.line + 1)
                stack.append((sub, item))
    return lines


class _TooLarge(Exception):
    pass


def _yaml_error(file: str, exc: yaml.YAMLError, text: str) -> ConfigError:
    if isinstance(exc, yaml.reader.ReaderError):  # a character YAML does not allow
        at = text.count("\n", 0, exc.position) + 1
        char = f"#x{exc.character:04x}" if isinstance(exc.character, int) else "a character"
        return ConfigError(
            [ErrorDetail(file, at, "", f"invalid YAML: {char} is not allowed ({exc.reason})")]
        )
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = mark.line + 1 if mark is not None else None
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    message = f"{context}: {problem}" if context and problem != context else str(problem)
    return ConfigError([ErrorDetail(file, line, "", f"invalid YAML: {message}")])


def load_text(text: str, file: str = "<config>", base_dir: Path | None = None) -> LoadedDocument:
    """Parse YAML text into plain data and key-path lines."""
    try:
        loader = _Loader(text)
    except yaml.YAMLError as exc:
        raise _yaml_error(file, exc, text) from None
    loader.base_dir = base_dir or Path(".")
    loader.secrets = []
    loader.unresolved = []
    paths: dict[int, KeyPath] = {}
    try:
        node = loader.get_single_node()
        if node is None:  # no document at all: only blanks and comments
            return LoadedDocument(None, {}, file)
        try:
            lines = _collect_lines(node, paths)
        except _TooLarge as exc:
            raise ConfigError([ErrorDetail(file, None, "", str(exc))]) from None
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise _yaml_error(file, exc, text).redacted(loader.secrets) from None
    except RecursionError:
        raise ConfigError([ErrorDetail(file, None, "", "document nested too deeply")]) from None
    finally:
        loader.dispose()
    errors = tuple(
        ErrorDetail(file, tagged.start_mark.line + 1, format_path(paths.get(id(tagged), ())), text)
        for tagged, text in loader.unresolved
    )
    return LoadedDocument(data, lines, file, tuple(loader.secrets), errors)


def _read_regular_file(path: str | Path) -> bytes:
    """At most MAX_FILE_BYTES + 1 bytes of a regular file. Opened without blocking and checked
    after opening, so that a FIFO or a device put in the file's place is refused, not waited on."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        return f.read(MAX_FILE_BYTES + 1)


def load_file(path: str | Path) -> LoadedDocument:
    """Read and parse a config file; every problem is a ConfigError naming the file."""
    file = str(path)
    try:
        raw = _read_regular_file(path)
    except OSError as exc:
        raise ConfigError([ErrorDetail(file, None, "", f"cannot read: {exc.strerror}")]) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigError([ErrorDetail(file, None, "", f"file larger than {MAX_FILE_BYTES} bytes")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            [ErrorDetail(file, line, "", f"not UTF-8: invalid byte at offset {exc.start}")]
        ) from None
    return load_text(text, file, Path(path).parent)


def parse_redacted(doc: LoadedDocument, parse: Callable[[LoadedDocument], Parsed]) -> Parsed:
    """``parse(doc)``; a ConfigError it raises comes out with every value read through ``!env``
    or ``!file`` masked. Every config format validates its documents through this."""
    try:
        return parse(doc)
    except ConfigError as exc:
        raise exc.redacted(doc.secrets) from None
