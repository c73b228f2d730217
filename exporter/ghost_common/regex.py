"""Regular expressions from config files, compiled with RE2.

RE2 matches in time linear in the length of the text, whatever the pattern: ``(a+)+$`` against
a long run of ``a`` ending in ``b``, which keeps a backtracking engine such as Python's ``re``
busy for minutes, is answered at once. Its syntax is Go's ``regexp``, the one Prometheus,
Alertmanager and blackbox_exporter use (https://github.com/google/re2/wiki/Syntax), so a
pattern means the same here as in their configs.

:func:`compile_regex` is the one place a config regex is compiled: a pattern RE2 refuses
raises :class:`RegexError` with a message that names what RE2 lacks (backreferences,
lookaround, possessive quantifiers, atomic groups, ``\\Z``...) and the RE2 form where there is
one. :meth:`Regex.search_in_thread` matches away from the event loop: linear time can still be
long for a big pattern over a big text, and RE2 lets go of the GIL while it matches.
"""

from __future__ import annotations

import asyncio
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final

import re2

__all__ = ["MAX_MEM", "Regex", "RegexError", "compile_regex"]

#: Memory one compiled pattern may use, program and match caches together (RE2's default).
MAX_MEM: Final = 8 << 20
#: Threads matching off the event loop (their own pool: DNS look-ups use the default one).
MATCH_THREADS: Final = 2


class RegexError(ValueError):
    """A pattern RE2 cannot compile; the message says why (and the RE2 form, if any)."""


class Regex:
    """A compiled config regex; equal to another when the pattern text and mode are.

    A text pattern matches UTF-8 text (a ``str`` is encoded first); a ``binary`` one matches
    bytes one by one (RE2's Latin-1 mode, fed the pattern's UTF-8 bytes), as a ``bytes``
    pattern of Python's ``re`` does. Matching only answers whether it matched: groups are not
    captured, which keeps RE2 on its fastest path.
    """

    __slots__ = ("_compiled", "binary", "pattern")

    def __init__(self, pattern: str, *, binary: bool = False) -> None:
        self.pattern = pattern
        self.binary = binary
        options = re2.Options()
        options.max_mem = MAX_MEM
        options.log_errors = False
        options.never_capture = True
        if binary:
            options.encoding = re2.Options.Encoding.LATIN1
        try:
            self._compiled: Any = re2.compile(_encode(pattern), options)
        except re2.error as exc:
            raise RegexError(explain(pattern, _text(exc))) from None
        literal = _literal_braces(pattern)
        if literal is not None:
            raise RegexError(
                f"RE2 reads `{literal}` as literal text, not a repetition: write "
                f"`{{0{literal[1:]}` for a repetition, or `\\{literal}` for the text"
            )

    def search(self, text: str | bytes) -> bool:
        """Whether the pattern matches somewhere in ``text`` (a ``str`` is matched as UTF-8)."""
        return self._compiled.search(_encode(text)) is not None

    def fullmatch(self, text: str | bytes) -> bool:
        """Whether the pattern matches all of ``text``."""
        return self._compiled.fullmatch(_encode(text)) is not None

    async def search_in_thread(self, text: str | bytes) -> bool:
        """:meth:`search` on a matching thread, so that the event loop goes on meanwhile.

        Cancelling the wait (a probe's timeout) leaves the match to finish on its thread, in
        time linear in the text; a match not yet started is dropped.
        """
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(_executor(), self.search, text)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Regex):
            return NotImplemented
        return (self.pattern, self.binary) == (other.pattern, other.binary)

    def __hash__(self) -> int:
        return hash((self.pattern, self.binary))

    def __repr__(self) -> str:
        return f"Regex({self.pattern!r}{', binary=True' if self.binary else ''})"


def compile_regex(pattern: str, *, binary: bool = False) -> Regex:
    """Compile a pattern from a config file, or raise RegexError saying why RE2 cannot."""
    return Regex(pattern, binary=binary)


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(MATCH_THREADS, thread_name_prefix="ghost-regex")
        return _pool


def _encode(text: str | bytes) -> bytes:
    # surrogatepass: a lone surrogate (JSON allows one) is one character, not an error.
    return text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text


def _text(exc: re2.error) -> str:
    arg = exc.args[0] if exc.args else ""
    return arg.decode("utf-8", "backslashreplace") if isinstance(arg, bytes) else str(arg)


_LOOKAROUND = ("(?=", "(?!", "(?<=", "(?<!")
_RECURSION = re.compile(r"\(\?(?:R|&|\+|-?\d+)")
_POSSESSIVE = re.compile(r"(?:[*+?]|\{\d*(?:,\d*)?\})\+")
_FLAGS = re.compile(r"\(\?([A-Za-z]*)(?:-([A-Za-z]*))?")
_LITERAL_BRACES = re.compile(r"\{,\d*\}")
_UNICODE_ESCAPE = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8}))")
_NO_BACKTRACKING = "RE2 never backtracks, so it needs none"
_CHECK_SEPARATELY = "match the text and check it separately"


def explain(pattern: str, error: str) -> str:
    """The message for a pattern RE2 refused with ``error`` (RE2's own "kind: fragment")."""
    kind, _, arg = error.partition(": ")
    if kind == "invalid perl operator":
        return _perl_operator(pattern, arg)
    if kind == "invalid escape sequence":
        return _escape(pattern, arg)
    if kind == "bad repetition operator" and _POSSESSIVE.fullmatch(arg):
        return (
            f"RE2 has no possessive quantifiers (`{arg}`): write `{arg[:-1]}`; {_NO_BACKTRACKING}"
        )
    if kind == "invalid repetition size":
        counts = [int(n) for n in re.findall(r"\d+", arg)]
        if len(counts) < 2 or counts[0] <= counts[1]:
            return (
                f"RE2 repeats at most 1000 times, nested counts multiplied (`{arg}`): "
                "use `+` or `*` and check the length separately"
            )
    if error.startswith("pattern too large"):
        return (
            f"too large for RE2 (over {MAX_MEM >> 20} MiB compiled): "
            "use fewer or smaller counted repetitions"
        )
    if arg:
        return f"invalid regular expression: {kind}: `{arg}`"
    return f"invalid regular expression: {error}"


def _perl_operator(pattern: str, arg: str) -> str:
    if arg in _LOOKAROUND:
        return f"RE2 has no lookaround (`{arg}`): {_CHECK_SEPARATELY}"
    if arg == "(?>":
        return f"RE2 has no atomic groups (`(?>`): write `(?:`; {_NO_BACKTRACKING}"
    if arg == "(?(":
        return "RE2 has no conditional groups (`(?(`): write the cases as alternatives `(a|b)`"
    if arg == "(?#":
        return "RE2 has no comments (`(?#`): remove the comment"
    if arg == "(?P" and "(?P=" in pattern:
        return f"RE2 has no backreferences (`(?P=`): {_CHECK_SEPARATELY}"
    if arg == "(?P" and "(?P>" in pattern:
        arg = "(?P>"
    if _RECURSION.fullmatch(arg) or arg == "(?P>":
        return f"RE2 has no recursion or subroutine calls (`{arg}`): {_CHECK_SEPARATELY}"
    flags = _FLAGS.fullmatch(arg)
    if flags is not None:
        unknown = sorted(set("".join(f for f in flags.groups() if f)) - set("imsU"))
        if unknown:
            return f"RE2 has no flag {', '.join(unknown)} (`{arg}`): its flags are i, m, s and U"
    return f"invalid regular expression: invalid perl operator: `{arg}`"


def _escape(pattern: str, arg: str) -> str:
    if len(arg) == 2 and arg[1] in "123456789kg":
        return f"RE2 has no backreferences (`{arg}`): {_CHECK_SEPARATELY}"
    if arg == "\\Z":
        return "RE2 has no `\\Z`: write `\\z` for the end of the text"
    if arg in ("\\u", "\\U"):
        found = _UNICODE_ESCAPE.search(pattern)
        code = f"{int(found.group(1) or found.group(2), 16):04x}" if found else "..."
        return f"RE2 has no `{arg}` escape: write `\\x{{{code}}}`"
    if arg == "\\N":
        return "RE2 has no `\\N{...}` escape: write the character itself or `\\x{...}`"
    return f"invalid regular expression: invalid escape sequence: `{arg}`"


def _literal_braces(pattern: str) -> str | None:
    """The first ``{,n}`` (or ``{,}``) outside escapes and classes: Python's ``re`` reads it as
    ``{0,n}``, RE2 and Go as the literal text, so it is refused as ambiguous."""
    i, n = 0, len(pattern)
    in_class = False
    while i < n:
        char = pattern[i]
        if char == "\\":
            if pattern.startswith("\\Q", i):  # literal text up to \E
                end = pattern.find("\\E", i + 2)
                i = n if end == -1 else end + 2
                continue
            i += 2
            continue
        if in_class:
            if char == "]":
                in_class = False
            elif pattern.startswith("[:", i):  # [:alpha:] inside a class
                end = pattern.find(":]", i + 2)
                i = i + 1 if end == -1 else end + 2
                continue
            i += 1
            continue
        if char == "[":
            in_class = True
            i += 1
            if i < n and pattern[i] == "^":
                i += 1
            if i < n and pattern[i] == "]":  # a ] first in a class is a literal
                i += 1
            continue
        if char == "{":
            found = _LITERAL_BRACES.match(pattern, i)
            if found is not None:
                return found.group()
        i += 1
    return None
