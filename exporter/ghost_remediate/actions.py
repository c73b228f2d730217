"""Running an action from the config: a command (no shell, own process group, timeout) or an
HTTP request. Placeholder values given here have passed their checks already."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote, urlsplit

import aiohttp
from yarl import URL

from .config import CommandSpec, HTTPSpec, is_dot_segment
from .templates import Placeholder, RefusedValue

#: The PATH commands run with (their environment is this, LANG and the rule's ``env``).
SAFE_PATH: Final = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#: Bytes of a command's output or an HTTP answer kept for the audit log (the end of it).
OUTPUT_TAIL: Final = 1024
#: How long to wait for a command's output to end once it exited.
OUTPUT_GRACE: Final = 1.0
#: What a URL keeps as written when it is encoded: the reserved characters and escapes.
_URL_KEEP: Final = "/?#[]@!$&'()*+,;=:%~"


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    detail: str


def describe(action: CommandSpec | HTTPSpec, values: Mapping[str, str]) -> str:
    """What the action runs, for the audit log: the command line, or the method and the URL
    exactly as it is requested."""
    if isinstance(action, CommandSpec):
        return action.describe(values)
    return f"{action.method} {request_url(action, values)}"


def render_url(action: HTTPSpec, values: Mapping[str, str]) -> str:
    """The URL with each value percent-encoded: a value never adds a path segment or query."""
    return action.url.render(values, quote=lambda value: quote(value, safe=""))


def check_url_values(action: HTTPSpec, values: Mapping[str, str]) -> None:
    """RefusedValue when values would make a ``.`` or ``..`` segment of the URL's path (one
    value ``..``, or ``{a}{b}`` filled with ``.`` and ``.``): the request would go to another
    path than the config says. In the query such a value is plain text and is accepted."""
    segment = ""
    names: list[str] = []

    def close() -> None:
        if names and is_dot_segment(segment):
            name = names[0]
            raise RefusedValue(
                name,
                values[name],
                f"would make {segment!r} a segment of the URL path, which moves the request "
                "to another path",
            )

    for part in action.url.parts:
        if isinstance(part, Placeholder):
            segment += quote(values[part.name], safe="")
            names.append(part.name)
            continue
        cut = [i for i in (part.find("?"), part.find("#")) if i != -1]
        *done, rest = part[: min(cut, default=len(part))].split("/")
        for piece in done:
            segment += piece
            close()
            segment, names = "", []
        segment += rest
        if cut:  # the path ends in this literal
            break
    close()


def request_url(action: HTTPSpec, values: Mapping[str, str]) -> URL:
    """The URL requested, exactly: built with ``encoded=True``, so that neither yarl nor aiohttp
    normalises it (no dot segment removed, no escape decoded). Values are percent-encoded and
    checked by :func:`check_url_values`; other characters the config wrote unencoded (non-ASCII)
    are encoded, reserved ones and escapes kept; the fragment is never sent."""
    check_url_values(action, values)
    parts = urlsplit(render_url(action, values))
    origin = URL(f"{parts.scheme}://{parts.netloc}")
    return URL.build(
        scheme=origin.scheme,
        authority=origin.raw_authority,
        path=quote(parts.path, safe=_URL_KEEP),
        query_string=quote(parts.query, safe=_URL_KEEP),
        encoded=True,
    )


def _tail(data: bytes) -> str:
    text = data[-OUTPUT_TAIL:].decode("utf-8", "replace").strip()
    return text


async def _read_tail(stream: asyncio.StreamReader, sink: bytearray) -> None:
    while chunk := await stream.read(65536):
        sink += chunk
        del sink[: max(0, len(sink) - OUTPUT_TAIL)]


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


async def _kill_group(proc: asyncio.subprocess.Process, grace: float) -> None:
    """SIGTERM the command's process group, SIGKILL it after ``grace``; reap the leader."""
    if grace > 0:
        _signal_group(proc.pid, signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                await proc.wait()
    _signal_group(proc.pid, signal.SIGKILL)
    await proc.wait()


def _no_grace() -> float:
    return 0.0


async def run_command(
    action: CommandSpec, values: Mapping[str, str], cancel_grace: Callable[[], float] = _no_grace
) -> Outcome:
    """Run the command without a shell, in a new session (its own process group), with stdin
    closed, cwd ``/`` and a minimal environment. On timeout or cancellation the whole group is
    killed. Success is exit status 0."""
    argv = [item.render(values) for item in action.argv]
    env = {"PATH": SAFE_PATH, "LANG": "C.UTF-8", **action.env}
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd="/",
            env=env,
        )
    except OSError as exc:
        return Outcome(False, f"cannot start {argv[0]}: {exc.strerror or exc}")
    assert proc.stdout is not None
    output = bytearray()
    reader = asyncio.create_task(_read_tail(proc.stdout, output))
    try:
        try:
            async with asyncio.timeout(action.timeout):
                code = await proc.wait()
        except TimeoutError:
            await _kill_group(proc, action.kill_grace)
            outcome = Outcome(
                False,
                f"timed out after {action.timeout:g}s: process group {proc.pid} killed",
            )
        else:
            outcome = Outcome(code == 0, f"exit status {code}")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(OUTPUT_GRACE):
                await asyncio.shield(reader)
    except asyncio.CancelledError:
        # Cancelled: the group gets SIGTERM, then SIGKILL after the grace ``cancel_grace``
        # says now (kill_grace when the alert resolved, none at shutdown).
        await asyncio.shield(_kill_group(proc, cancel_grace()))
        raise
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
    tail = _tail(bytes(output))
    return Outcome(outcome.ok, f"{outcome.detail}; output: {tail}" if tail else outcome.detail)


async def run_http(
    session: aiohttp.ClientSession, action: HTTPSpec, values: Mapping[str, str]
) -> Outcome:
    """Send the request to :func:`request_url` (redirects not followed); success is a 2xx
    status."""
    url = request_url(action, values)
    try:
        async with (
            asyncio.timeout(action.timeout),
            session.request(
                action.method,
                url,
                headers=dict(action.headers),
                data=action.body,
                ssl=action.ssl if action.ssl is not None else True,
                server_hostname=action.server_name,
                allow_redirects=False,
            ) as response,
        ):
            body = await response.content.read(OUTPUT_TAIL)
    except TimeoutError:
        return Outcome(False, f"timed out after {action.timeout:g}s")
    except (aiohttp.ClientError, OSError) as exc:
        return Outcome(False, f"request failed: {type(exc).__name__}: {exc}")
    text = _tail(body)
    detail = f"HTTP {response.status}" + (f": {text}" if text else "")
    return Outcome(200 <= response.status < 300, detail)


async def run_action(
    session: aiohttp.ClientSession,
    action: CommandSpec | HTTPSpec,
    values: Mapping[str, str],
    cancel_grace: Callable[[], float] = _no_grace,
) -> Outcome:
    if isinstance(action, CommandSpec):
        return await run_command(action, values, cancel_grace)
    return await run_http(session, action, values)
