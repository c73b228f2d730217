"""The one error type of configuration loading: a list of details, each with a location."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

#: Secret values shorter than this are not masked in messages (they would mask everything).
MIN_REDACTED = 4


@dataclass(frozen=True, slots=True)
class ErrorDetail:
    """One problem: where (file, line, key path) and what."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ConfigError(Exception):
    """A configuration that cannot be used, with every problem found."""

    def __init__(self, details: list[ErrorDetail]) -> None:
        self.details = details
        super().__init__("\n".join(str(d) for d in details))

    def redacted(self, secrets: Iterable[str]) -> ConfigError:
        """The same error with every secret value (4 characters or more) masked."""
        hidden = sorted({s for s in secrets if len(s) >= MIN_REDACTED}, key=len, reverse=True)
        if not hidden:
            return self

        def mask(text: str) -> str:
            for secret in hidden:
                text = text.replace(secret, "<secret>")
            return text

        return ConfigError(
            [ErrorDetail(d.file, d.line, mask(d.path), mask(d.message)) for d in self.details]
        )


def format_path(path: tuple[str | int, ...]) -> str:
    """Render a key path as ``services[1].http.url``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out
