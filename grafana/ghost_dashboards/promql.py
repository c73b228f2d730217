"""Metric names a PromQL expression reads, found with a small tokenizer.

Enough for the dashboards' own queries: it drops string literals, label matchers (``{...}``),
ranges and subqueries (``[...]``), label lists of ``by``/``without``/``on``/``ignoring``/
``group_left``/``group_right`` and Grafana template variables, then keeps every identifier that
is neither a keyword nor followed by ``(`` (a function or aggregation call).
"""

from __future__ import annotations

import re
from typing import Final

KEYWORDS: Final = frozenset(
    {
        # binary and set operators, modifiers
        "and",
        "or",
        "unless",
        "bool",
        "offset",
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "atan2",
        "inf",
        "nan",
        # aggregation operators, which may be followed by a by/without clause before "("
        "sum",
        "min",
        "max",
        "avg",
        "group",
        "stddev",
        "stdvar",
        "count",
        "count_values",
        "bottomk",
        "topk",
        "quantile",
        "limitk",
        "limit_ratio",
    }
)

_TEMPLATE_VARIABLE = re.compile(r"\$\{[^}]*\}|\[\[[^\]]*\]\]|\$\w+")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_LABEL_LIST = re.compile(
    r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", re.IGNORECASE
)
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGE = re.compile(r"\[[^\[\]]*\]")
_TOKEN = re.compile(
    r"(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\w*)"
    r"|(?P<identifier>[A-Za-z_:][\w:]*)"
    r"|(?P<other>\S)"
)


def metric_names(expr: str) -> set[str]:
    """Names of the series (metrics and recording rules) that ``expr`` selects."""
    text = _TEMPLATE_VARIABLE.sub(" ", expr)
    text = _STRING.sub('""', text)
    text = _LABEL_LIST.sub(r"\1", text)
    text = _MATCHERS.sub("{}", text)
    text = _RANGE.sub("[]", text)
    names = set()
    for match in _TOKEN.finditer(text):
        name = match.group("identifier")
        if name is None or name.lower() in KEYWORDS:
            continue
        if text[match.end() :].lstrip().startswith("("):
            continue
        names.add(name)
    return names
