"""Templates with named placeholders (``/-/restart/{service}``) and the checks on their values.

A template is parsed once, when the config is loaded, into literal text and placeholder names;
``{{`` and ``}}`` are literal braces. A value fills a placeholder only after it passed both the
placeholder's pattern and :func:`check_value`, which no pattern can loosen.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from ghost_common.regex import Regex, compile_regex

#: The pattern a placeholder value must match when the config gives none.
DEFAULT_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
DEFAULT_REGEX: Final = compile_regex(DEFAULT_PATTERN)
#: Longest value any pattern may let through.
MAX_VALUE_LENGTH: Final = 256

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class TemplateError(ValueError):
    """A template that cannot be parsed."""


class RefusedValue(ValueError):
    """A placeholder value that failed its checks; it is never used."""

    def __init__(self, placeholder: str, value: str, reason: str) -> None:
        self.placeholder = placeholder
        self.value = value
        self.reason = reason
        super().__init__(f"{placeholder}={shorten(value)}: {reason}")


def shorten(value: str, limit: int = 80) -> str:
    """``repr`` of a value cut to ``limit`` characters, for logs."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True, slots=True)
class Template:
    """Literal text and placeholders, in order: ``parts`` alternates str and Placeholder."""

    source: str
    parts: tuple[str | Placeholder, ...]

    @property
    def names(self) -> frozenset[str]:
        return frozenset(p.name for p in self.parts if isinstance(p, Placeholder))

    @property
    def literal_prefix(self) -> str:
        """The text before the first placeholder (all of it when there is none)."""
        prefix = ""
        for part in self.parts:
            if isinstance(part, Placeholder):
                break
            prefix += part
        return prefix

    def render(self, values: Mapping[str, str], quote: Callable[[str], str] | None = None) -> str:
        """The text with each placeholder replaced by its (already checked) value; ``quote``,
        when given, is applied to every value (URL encoding)."""
        out = []
        for part in self.parts:
            if isinstance(part, Placeholder):
                value = values[part.name]
                out.append(quote(value) if quote is not None else value)
            else:
                out.append(part)
        return "".join(out)


@dataclass(frozen=True, slots=True)
class Placeholder:
    name: str


def parse(source: str) -> Template:
    """Parse ``source``; raises TemplateError naming the position of a stray brace."""
    parts: list[str | Placeholder] = []
    literal = ""
    i = 0
    while i < len(source):
        char = source[i]
        if source.startswith("{{", i) or source.startswith("}}", i):
            literal += char
            i += 2
        elif char == "{":
            end = source.find("}", i + 1)
            name = source[i + 1 : end] if end != -1 else ""
            if end == -1 or not _NAME.fullmatch(name):
                raise TemplateError(
                    f"invalid placeholder at position {i}: write {{name}} with a name of "
                    "letters, digits and _, or {{ for a literal brace"
                )
            if literal:
                parts.append(literal)
                literal = ""
            parts.append(Placeholder(name))
            i = end + 1
        elif char == "}":
            raise TemplateError(f"unmatched '}}' at position {i}: write }}}} for a literal brace")
        else:
            literal += char
            i += 1
    if literal:
        parts.append(literal)
    return Template(source, tuple(parts))


def check_value(placeholder: str, value: str, pattern: Regex) -> str:
    """``value`` when it may fill ``placeholder``, else RefusedValue.

    Whatever the pattern says, a value is refused when it is empty, longer than
    MAX_VALUE_LENGTH, starts with ``-`` (it would read as an option) or holds a control
    character (newline, NUL, escape...)."""
    if not value:
        raise RefusedValue(placeholder, value, "empty value")
    if len(value) > MAX_VALUE_LENGTH:
        raise RefusedValue(
            placeholder, value, f"longer than {MAX_VALUE_LENGTH} characters ({len(value)})"
        )
    if value.startswith("-"):
        raise RefusedValue(placeholder, value, "starts with '-'")
    if any(unicodedata.category(c) in {"Cc", "Cf", "Zl", "Zp"} for c in value):
        raise RefusedValue(placeholder, value, "contains a control character")
    if not pattern.fullmatch(value):
        raise RefusedValue(placeholder, value, f"does not match {pattern.pattern}")
    return value
