"""Expressions in the Common Expression Language (CEL), compiled at config load and evaluated in
a worker process with a deadline.

CEL (https://cel.dev) has no loops, no recursion and no functions that reach files, the network
or the clock; the implementation is ``common-expression-language`` (``import cel``), Rust
bindings of the cel-rust interpreter. No custom function is ever registered: an expression sees
one variable, ``body``, and the standard CEL functions and macros only.

What CEL does not bound is the cost of nested macros over a large body
(``body.items.all(x, body.items.exists(y, y == x))`` is quadratic in the list), and the Rust
interpreter holds the GIL while it runs, so a thread cannot keep the event loop going. So
:class:`Evaluator` sends the body and the expressions to a worker process
(``python -I -m ghost_common.cel``, with an empty environment) and waits without blocking; a
caller that gives up (a probe's timeout cancels it) kills the worker, and the next evaluation
starts a fresh one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

import cel

__all__ = ["CelError", "Evaluator", "Expression", "Outcome", "compile_expression"]

#: Evaluation worker processes (each evaluates one probe's assertions at a time).
WORKERS = 2


class CelError(ValueError):
    """An expression that does not compile; the message says where and why."""


@dataclass(frozen=True, slots=True)
class Expression:
    """A compiled expression; equal to another when the source text is."""

    source: str

    def evaluate(self, body: Any) -> Outcome:
        """Evaluate in this process (the worker's side, and tests)."""
        return _evaluate(_compiled(self.source), body)


@dataclass(frozen=True, slots=True)
class Outcome:
    """An evaluation's verdict: ``ok`` True or False, or None with the ``error`` that stopped
    it (a missing field, a type mismatch, a result that is not a boolean)."""

    ok: bool | None
    error: str = ""


_PROGRAMS: dict[str, Any] = {}


def _compiled(source: str) -> Any:
    program = _PROGRAMS.get(source)
    if program is None:
        if len(_PROGRAMS) > 4096:
            _PROGRAMS.clear()
        program = _PROGRAMS[source] = cel.compile(source)
    return program


def compile_expression(source: str) -> Expression:
    """Compile ``source`` (an expression over ``body``), or raise CelError saying why not."""
    if not source.strip():
        raise CelError("empty expression")
    try:
        program = cel.compile(source)
    except (ValueError, RuntimeError, TypeError) as exc:
        raise CelError(_syntax_error(str(exc))) from None
    unknown = sorted(
        name for name in program.variables() if name != "body" and not _bound(source, name)
    )
    if unknown:
        raise CelError(f"unknown variable {unknown[0]!r}: an expression sees only `body`")
    return Expression(source)


_SYNTAX = re.compile(r"<input>:(\d+):(\d+): (.*?)(?: expecting \{[^}]*\})?\s*(?:\||$)", re.S)


def _syntax_error(text: str) -> str:
    """The interpreter's parse error, short: ``Syntax error: … at column 9``."""
    found = _SYNTAX.search(text)
    if found is None:
        return " ".join(text.split())
    line, column, what = found.groups()
    where = f"column {column}" if line == "1" else f"line {line}, column {column}"
    return f"{' '.join(what.split())} at {where} of the expression"


def _bound(source: str, name: str) -> bool:
    """Whether ``name`` is a macro's iteration variable (``list.all(name, …)``)."""
    return any(
        f"{macro}({name}," in "".join(source.split())
        for macro in ("all", "exists", "exists_one", "map", "filter")
    )


def _evaluate(program: Any, body: Any) -> Outcome:
    try:
        value = program.execute({"body": body})
    except KeyError as exc:
        return Outcome(None, f"no such key: {exc}")
    except Exception as exc:  # the interpreter's errors are ValueError, TypeError, RuntimeError
        return Outcome(None, " ".join(str(exc).split()) or type(exc).__name__)
    if not isinstance(value, bool):
        return Outcome(None, f"result is {type(value).__name__}, not a boolean")
    return Outcome(value)


class _Worker:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def ask(self, sources: Sequence[str], body: bytes) -> list[Outcome]:
        process = self.process
        assert process.stdin is not None
        head = json.dumps(list(sources)).encode()
        process.stdin.write(b"%d %d\n" % (len(head), len(body)) + head + body)
        await process.stdin.drain()
        return [Outcome(ok, error) for ok, error in json.loads(await self.line())]

    async def line(self) -> bytes:
        assert self.process.stdout is not None
        line = await self.process.stdout.readline()
        if not line:
            raise ConnectionError("the CEL worker ended")
        return line

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()


class Evaluator:
    """Evaluates expressions over JSON bodies in up to ``workers`` worker processes.

    A worker starts in the background: a probe whose timeout runs out while it waits for one
    leaves it to start for the next probe. A probe that gives up while a worker evaluates kills
    that worker (it may be running away), and a fresh one takes its place.
    """

    def __init__(self, workers: int = WORKERS) -> None:
        self._size = workers
        self._idle: list[_Worker] = []
        self._all: set[_Worker] = set()
        self._starting: set[asyncio.Task[_Worker]] = set()
        self._changed = asyncio.Event()
        self._failure: BaseException | None = None
        self._reaping: set[asyncio.Task[None]] = set()

    @property
    def workers(self) -> int:
        """Worker processes running now."""
        return len(self._all)

    def pids(self) -> list[int]:
        """The process ids of the workers."""
        return [w.process.pid for w in self._all]

    async def warm(self) -> None:
        """Start the workers now, so that a first probe does not wait for one to start."""
        while len(self._all) + len(self._starting) < self._size:
            self._start()
        await asyncio.gather(*self._starting, return_exceptions=True)

    async def evaluate(self, expressions: Sequence[Expression], body: bytes) -> list[Outcome]:
        """Each expression's outcome over ``body`` (JSON text; invalid JSON: every outcome is
        None). Cancelling the wait kills the worker that was evaluating."""
        worker = await self._take()
        try:
            outcomes = await worker.ask([e.source for e in expressions], body)
        except BaseException:
            self._drop(worker)
            raise
        self._idle.append(worker)
        self._changed.set()
        return outcomes

    async def _take(self) -> _Worker:
        while True:
            while self._idle:
                worker = self._idle.pop()
                if worker.process.returncode is None:
                    return worker
                self._all.discard(worker)  # died while idle
            if self._failure is not None:
                failure, self._failure = self._failure, None
                raise ConnectionError(f"the CEL worker did not start: {failure}")
            if len(self._all) + len(self._starting) < self._size:
                self._start()
            self._changed.clear()
            await self._changed.wait()

    def _start(self) -> None:
        task = asyncio.get_running_loop().create_task(self._spawn())
        self._starting.add(task)
        task.add_done_callback(self._started)

    async def _spawn(self) -> _Worker:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-I",
            "-m",
            "ghost_common.cel",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env={},  # nothing of the exporter's environment (secrets) reaches the worker
            limit=1 << 20,
        )
        worker = _Worker(process)
        try:
            if await worker.line() != _READY:
                raise ConnectionError("unexpected greeting")
        except BaseException:
            worker.kill()
            await _reap(worker)
            raise
        return worker

    def _started(self, task: asyncio.Task[_Worker]) -> None:
        self._starting.discard(task)
        if task.cancelled():
            pass
        elif task.exception() is not None:
            self._failure = task.exception()
        else:
            worker = task.result()
            self._all.add(worker)
            self._idle.append(worker)
        self._changed.set()

    def _drop(self, worker: _Worker) -> None:
        worker.kill()
        self._all.discard(worker)
        self._changed.set()
        task = asyncio.get_running_loop().create_task(_reap(worker))
        self._reaping.add(task)
        task.add_done_callback(self._reaping.discard)

    async def aclose(self) -> None:
        """Stop every worker (and every start in progress)."""
        for task in list(self._starting):
            task.cancel()
        await asyncio.gather(*self._starting, return_exceptions=True)
        workers = list(self._all)
        self._all.clear()
        self._idle.clear()
        for worker in workers:
            worker.kill()
        for worker in workers:
            await _reap(worker)
        await asyncio.gather(*self._reaping, return_exceptions=True)


_READY = b"ready\n"


async def _reap(worker: _Worker) -> None:
    with contextlib.suppress(Exception):
        await worker.process.wait()


def serve(stdin: BinaryIO, stdout: BinaryIO) -> None:
    """The worker: say it is ready, then answer each request with one JSON line, until stdin
    closes."""
    stdout.write(_READY)
    stdout.flush()
    while True:
        line = stdin.readline()
        if not line:
            return
        head_size, body_size = (int(n) for n in line.split())
        sources: list[str] = json.loads(stdin.read(head_size))
        raw = stdin.read(body_size)
        try:
            body: Any = json.loads(raw)
        except (ValueError, RecursionError):
            outcomes = [Outcome(None, "body is not valid JSON") for _ in sources]
        else:
            outcomes = [_evaluate(_compiled(s), body) for s in sources]
        stdout.write(json.dumps([[o.ok, o.error] for o in outcomes]).encode() + b"\n")
        stdout.flush()


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
