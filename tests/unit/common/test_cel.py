"""CEL expressions: compiled at load with short errors, strict boolean results, no functions
beyond the standard ones, evaluated in worker processes that a cancelled wait kills."""

from __future__ import annotations

import asyncio
import json

import pytest

from ghost_common.cel import CelError, Evaluator, Outcome, compile_expression


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("", "empty expression"),
        ("body.q <", "Syntax error: mismatched input '<EOF>' at column 9 of the expression"),
        (
            "body.(",
            "Syntax error: no viable alternative at input '.(' at column 6 of the expression",
        ),
        ("env.HOME == ''", "unknown variable 'env': an expression sees only `body`"),
    ],
)
def test_bad_expressions_are_refused_with_a_short_message(source: str, message: str) -> None:
    with pytest.raises(CelError) as info:
        compile_expression(source)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("source", "body", "expected"),
    [
        ("body.q < 100", {"q": 5}, Outcome(True)),
        ("body.q < 100", {"q": 500}, Outcome(False)),
        ("has(body.q)", {}, Outcome(False)),
        ("body.items.all(x, x > 0)", {"items": [1, 2]}, Outcome(True)),
        ("body.items.exists(i, i == 3)", {"items": [1, 2]}, Outcome(False)),
        ("body.s.matches('^a+$')", {"s": "aaa"}, Outcome(True)),
        ("body.q", {"q": 1}, Outcome(None, "result is int, not a boolean")),
        ("body.q < 1", {}, Outcome(None, "no such key: 'q'")),
    ],
)
def test_evaluation(source: str, body: object, expected: Outcome) -> None:
    assert compile_expression(source).evaluate(body) == expected


@pytest.mark.parametrize("function", ["now()", "getenv('HOME')", "readFile('/etc/passwd')"])
def test_no_function_beyond_the_standard_ones_is_registered(function: str) -> None:
    outcome = compile_expression(f"{function} == ''").evaluate({})
    assert outcome.ok is None
    assert "Undefined variable or function" in outcome.error


async def test_worker_evaluates_and_a_cancelled_wait_kills_it() -> None:
    evaluator = Evaluator(workers=1)
    try:
        quick = [compile_expression("body.q < 100"), compile_expression("body.q > 100")]
        assert await evaluator.evaluate(quick, b'{"q": 5}') == [Outcome(True), Outcome(False)]
        assert await evaluator.evaluate(quick, b"{") == [
            Outcome(None, "body is not valid JSON"),
            Outcome(None, "body is not valid JSON"),
        ]
        slow = [compile_expression("body.i.all(x, body.i.exists(y, y == x))")]
        body = json.dumps({"i": list(range(50_000))}).encode()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.5):
                await evaluator.evaluate(slow, body)
        assert await evaluator.evaluate(quick, b'{"q": 500}') == [Outcome(False), Outcome(True)]
    finally:
        await evaluator.aclose()


async def test_warm_starts_every_worker_once() -> None:
    evaluator = Evaluator(workers=2)
    try:
        await evaluator.warm()
        assert evaluator.workers == 2
        await evaluator.warm()
        assert evaluator.workers == 2
        expression = [compile_expression("body == 1")]
        outcomes = await asyncio.gather(*(evaluator.evaluate(expression, b"1") for _ in range(6)))
        assert outcomes == [[Outcome(True)]] * 6
        assert evaluator.workers == 2
    finally:
        await evaluator.aclose()
    assert evaluator.workers == 0


async def test_a_worker_start_outlives_a_wait_that_gave_up() -> None:
    evaluator = Evaluator(workers=1)
    expression = [compile_expression("body == 1")]
    try:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.001):  # gives up while the worker starts
                await evaluator.evaluate(expression, b"1")
        await evaluator.warm()  # waits for the start in progress; starts no other
        assert evaluator.workers == 1
        assert await evaluator.evaluate(expression, b"1") == [Outcome(True)]
        assert evaluator.workers == 1
    finally:
        await evaluator.aclose()
