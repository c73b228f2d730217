"""The job log (``--joblog``): one JSON line per finished patch, and reading it back for
``--resume-failed``.

A line: ``{"seq": 7, "id": "stress-5ceae102-7", "start": 1795523415.6, "runtime": 0.42,
"outcome": "failed", "exit_status": 1, "signal": null, "attempts": 1, "command": "./apply.sh"}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .executor import FinishedPatch

OUTCOMES = ("completed", "failed", "timeout")


class JobLog:
    """Appends a line per finished patch to ``path``; each line is flushed as it is written."""

    def __init__(self, path: Path, command: str | None) -> None:
        self.path = path
        self.command = command
        self._file: IO[str] = path.open("a", encoding="utf-8")

    def __call__(self, patch: FinishedPatch) -> None:
        code = patch.result.exit_code
        line = {
            "seq": patch.seq,
            "id": patch.patch_id,
            "start": patch.start,
            "runtime": patch.runtime,
            "outcome": patch.result.outcome,
            "exit_status": code if code is not None and code >= 0 else None,
            "signal": -code if code is not None and code < 0 else None,
            "attempts": patch.attempts,
            "command": self.command,
        }
        self._file.write(json.dumps(line) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


@dataclass(frozen=True, slots=True)
class Unfinished:
    """The patches a job log records as failed or timed out (by their last line)."""

    #: (seq, id) in the order of their first line
    patches: tuple[tuple[int, str], ...]
    #: the --command they ran; None for simulated patches
    command: str | None


def read_failed(path: Path) -> Unfinished:
    """The patches whose last line in the job log is ``failed`` or ``timeout``.

    ValueError naming the file, the line and the key on a line that is not a job log line, and
    when the failed patches ran different commands.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    last: dict[str, tuple[int, str, str | None]] = {}
    commands: dict[str, str | None] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            entry: Any = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{where}: not a JSON line: {exc.msg}") from None
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: expected a JSON object, got {type(entry).__name__}")
        seq, patch_id = entry.get("seq"), entry.get("id")
        outcome, command = entry.get("outcome"), entry.get("command")
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
            raise ValueError(f"{where}: key 'seq' must be a whole number >= 1, got {seq!r}")
        if not isinstance(patch_id, str) or not patch_id:
            raise ValueError(f"{where}: key 'id' must be a non-empty string, got {patch_id!r}")
        if outcome not in OUTCOMES:
            raise ValueError(
                f"{where}: key 'outcome' must be one of {', '.join(OUTCOMES)}, got {outcome!r}"
            )
        if command is not None and not isinstance(command, str):
            raise ValueError(f"{where}: key 'command' must be a string or null, got {command!r}")
        last[patch_id] = (seq, outcome, command)
        commands[patch_id] = command
    failed = [(seq, pid) for pid, (seq, outcome, _) in last.items() if outcome != "completed"]
    ran = {commands[pid] for _, pid in failed}
    if len(ran) > 1:
        listed = ", ".join(repr(command) for command in sorted(ran, key=str))
        raise ValueError(f"{path}: the failed patches ran different commands: {listed}")
    return Unfinished(tuple(failed), ran.pop() if ran else None)
