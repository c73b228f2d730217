"""Config regexes are RE2: what it refuses (with the message validate prints), how it matches,
and matching away from the event loop."""

from __future__ import annotations

import asyncio
import random
import re
import subprocess
import warnings
from pathlib import Path

import pytest

from ghost_common.regex import RegexError, compile_regex
from ghost_exporter.config import ConfigError, parse_config
from tests.support import cli

#: Patterns Python's ``re`` compiles and RE2 refuses, with the message validate gives for each.
REFUSED = [
    ("(?=ok)", "RE2 has no lookaround (`(?=`): match the text and check it separately"),
    ("(?!error)", "RE2 has no lookaround (`(?!`): match the text and check it separately"),
    ("(?<=v)1", "RE2 has no lookaround (`(?<=`): match the text and check it separately"),
    ("(?<!v)1", "RE2 has no lookaround (`(?<!`): match the text and check it separately"),
    ("(o)k\\1", "RE2 has no backreferences (`\\1`): match the text and check it separately"),
    (
        "(?P<q>['\"]).*(?P=q)",
        "RE2 has no backreferences (`(?P=`): match the text and check it separately",
    ),
    (
        "o++k",
        "RE2 has no possessive quantifiers (`++`): write `+`; "
        "RE2 never backtracks, so it needs none",
    ),
    (
        "o{2}+k",
        "RE2 has no possessive quantifiers (`{2}+`): write `{2}`; "
        "RE2 never backtracks, so it needs none",
    ),
    (
        "(?>o+)k",
        "RE2 has no atomic groups (`(?>`): write `(?:`; RE2 never backtracks, so it needs none",
    ),
    ("ok\\Z", "RE2 has no `\\Z`: write `\\z` for the end of the text"),
    (
        "(<)?ok(?(1)>)",
        "RE2 has no conditional groups (`(?(`): write the cases as alternatives `(a|b)`",
    ),
    ("(?#status)ok", "RE2 has no comments (`(?#`): remove the comment"),
    ("(?x) o k", "RE2 has no flag x (`(?x`): its flags are i, m, s and U"),
    ("(?a)\\w+", "RE2 has no flag a (`(?a`): its flags are i, m, s and U"),
    ("caf\\u00e9", "RE2 has no `\\u` escape: write `\\x{00e9}`"),
    ("\\U0001F600", "RE2 has no `\\U` escape: write `\\x{1f600}`"),
    (
        "a\\N{EM DASH}b",
        "RE2 has no `\\N{...}` escape: write the character itself or `\\x{...}`",
    ),
    (
        "a{1001}",
        "RE2 repeats at most 1000 times, nested counts multiplied (`{1001}`): "
        "use `+` or `*` and check the length separately",
    ),
    (
        "(?:a{100}){100}",
        "RE2 repeats at most 1000 times, nested counts multiplied (`{100}`): "
        "use `+` or `*` and check the length separately",
    ),
    (
        "o{,3}k",
        "RE2 reads `{,3}` as literal text, not a repetition: write `{0,3}` for a repetition, "
        "or `\\{,3}` for the text",
    ),
]


def _body_regex_error(pattern: str) -> str:
    escaped = pattern.replace("'", "''")
    text = (
        "services:\n  - name: a\n    http:\n      url: 'http://h/'\n"
        f"      body_regex: '{escaped}'\n"
    )
    with pytest.raises(ConfigError) as info:
        parse_config(text, "g.yml")
    return str(info.value)


@pytest.mark.parametrize(("pattern", "message"), REFUSED, ids=[p for p, _ in REFUSED])
def test_what_re_compiles_and_re2_refuses_gets_a_message_saying_so(
    pattern: str, message: str
) -> None:
    re.compile(pattern)  # the backtracking engine took it
    assert _body_regex_error(pattern) == f"g.yml:5: services[0].http.body_regex: {message}"


#: Patterns both compile and read differently: (pattern, text, re's answer); RE2's is the other.
#: RE2's (and Go's) reading is the one documented in docs/configuration.md.
READ_DIFFERENTLY = [
    ("^ok$", "ok\n", True),  # RE2's $ is the end of the text, not before a final newline
    ("\\d", "\u0663", True),  # \d, \w, \s and \b are ASCII in RE2
    ("^\\w+$", "caf\u00e9", True),
    ("[[:digit:]]", "5", False),  # a POSIX class in RE2, a set of characters in re
]


@pytest.mark.parametrize(("pattern", "text", "by_re"), READ_DIFFERENTLY)
def test_patterns_both_accept_but_read_differently(pattern: str, text: str, by_re: bool) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # re warns about [[ as a nested set
        assert (re.search(pattern, text) is not None) is by_re
    assert compile_regex(pattern).search(text) is not by_re


@pytest.mark.parametrize(
    "pattern", ["(?<name>ok)", "\\pL+", "ok\\z", "(?U)o+", "[[:alpha:]]+", "\\Q(?=\\E", "\\{,3}"]
)
def test_re2_syntax_re_refused_is_accepted(pattern: str) -> None:
    compile_regex(pattern)


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("((", "invalid regular expression: missing ): `((`"),
        ("[a", "invalid regular expression: missing ]: `[a`"),
        ("a**", "invalid regular expression: bad repetition operator: `**`"),
        ("x{2,1}", "invalid regular expression: invalid repetition size: `{2,1}`"),
        ("\\h", "invalid regular expression: invalid escape sequence: `\\h`"),
        (
            "\\pL{1000}",
            "too large for RE2 (over 8 MiB compiled): use fewer or smaller counted repetitions",
        ),
    ],
)
def test_syntax_errors_carry_re2s_message(pattern: str, message: str) -> None:
    with pytest.raises(RegexError) as info:
        compile_regex(pattern)
    assert str(info.value) == message


def test_text_patterns_search_and_fullmatch_utf8() -> None:
    regex = compile_regex("caf.")
    assert regex.search("un café noir")
    assert regex.search("un café noir".encode())
    assert not regex.fullmatch("un café noir")
    assert regex.fullmatch("café")
    assert not regex.fullmatch("cafe\u0301")  # two code points: . takes one
    assert not regex.search("\ud800")  # a lone surrogate is a character, not an error
    assert compile_regex(".").fullmatch("\ud800")


def test_binary_patterns_match_byte_by_byte() -> None:
    regex = compile_regex("^caf.$", binary=True)
    assert regex.search(b"caf\xff")  # any byte, UTF-8 or not
    assert not regex.search("café".encode())  # é is two bytes
    assert compile_regex("café", binary=True).search("un café".encode())
    assert compile_regex("caf..", binary=True).fullmatch("café".encode())


def test_equal_when_the_pattern_and_mode_are() -> None:
    assert compile_regex("a+") == compile_regex("a+")
    assert hash(compile_regex("a+")) == hash(compile_regex("a+"))
    assert compile_regex("a+") != compile_regex("a+", binary=True)
    assert compile_regex("a+") != compile_regex("a*")
    assert repr(compile_regex("a+", binary=True)) == "Regex('a+', binary=True)"


def test_the_catastrophic_pattern_is_answered_by_re2() -> None:
    body = "a" * (1 << 20) + "b"
    assert not compile_regex("(a+)+$").search(body)
    assert compile_regex("(a+)+b$").search(body)


async def test_matching_in_a_thread_leaves_the_event_loop_running() -> None:
    # A pattern whose DFA does not fit RE2's memory bound: it falls back to its NFA, linear in
    # the text but slow enough (a tenth of a second or more) for the loop to turn meanwhile.
    rng = random.Random(1)
    text = "".join(rng.choice("ab") for _ in range(1 << 20))
    regex = compile_regex("(a|b)*a(a|b){20}c")
    turns = 0
    matching = asyncio.ensure_future(regex.search_in_thread(text))

    async def turn() -> None:
        nonlocal turns
        while not matching.done():
            turns += 1
            await asyncio.sleep(0)

    ticker = asyncio.ensure_future(turn())
    assert await matching is False
    await ticker
    assert turns > 1  # a match on the loop's own thread would have let it turn at most once


def test_validate_prints_file_line_key_and_the_re2_message(tmp_path: Path) -> None:
    config = tmp_path / "ghost.yml"
    config.write_text(
        "services:\n"
        "  - name: a\n"
        "    http: {url: 'http://h/', body_not_regex: '(?i)error(?!s: 0)'}\n"
        "  - name: b\n"
        "    tcp: {address: 'h:1', expect: 'OK\\Z'}\n"
    )
    done = subprocess.run(
        [cli("ghost-exporter"), "validate", f"--config.file={config}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert (
        f"{config}:3: services[0].http.body_not_regex: RE2 has no lookaround (`(?!`): "
        "match the text and check it separately\n"
    ) in done.stderr
    assert (
        f"{config}:5: services[1].tcp.expect: RE2 has no `\\Z`: write `\\z` for the end of the "
        "text\n"
    ) in done.stderr
