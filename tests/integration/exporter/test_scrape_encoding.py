"""/metrics of a real ghost-exporter process, gzip-compressed when asked: read back with a real
HTTP client and prometheus_client's parser, compared with the plain scrape, and scraped by a real
Prometheus."""

from __future__ import annotations

import gzip
import json
import math
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.exporter.conftest import health_app
from tests.support import (
    Running,
    ThreadedServer,
    free_port,
    require_tool,
    run_exporter,
    run_process,
    wait_until,
)

#: Enough targets that the largest family is well over the size compressed on a thread.
TARGETS = 150

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], str]


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: Message
    body: bytes


def _fetch(url: str, accept_encoding: str | None) -> Answer:
    """GET ``url`` with urllib, which never decodes a body: what arrives is what was sent."""
    headers = {} if accept_encoding is None else {"Accept-Encoding": accept_encoding}
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return Answer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, exc.headers, exc.read())


def _samples(text: str) -> Samples:
    """Every sample but the process's own (CPU time and memory move between any two scrapes)."""
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.startswith("process_"):
                continue
            value = "NaN" if math.isnan(sample.value) else repr(sample.value)
            out[(sample.name, tuple(sorted(sample.labels.items())))] = value
    return out


@pytest.fixture(scope="module")
def exporter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    tmp = tmp_path_factory.mktemp("scrape-encoding")
    with ThreadedServer(health_app()) as targets:
        lines = ["defaults: {interval: 2s, timeout: 1s}", "services:"]
        for i in range(TARGETS):
            lines.append(
                f"  - {{name: 't{i:03d}', labels: {{note: 'a \\ \"b\" ü'}}, "
                f"http: {{url: '{targets.url}/health', health_field: status}}}}"
            )
        config = tmp / "ghost.yml"
        config.write_text("\n".join(lines) + "\n")
        with run_exporter(config, tmp) as running:
            wait_until(
                lambda: (
                    running.get("/metrics")[1].count("ghost_service_up{") == TARGETS
                    and 'ghost_probes_total{service="t000"' in running.get("/metrics")[1]
                ),
                timeout=30,
            )
            yield running


def test_gzip_scrape_reads_back_as_the_plain_scrape(exporter: Running) -> None:
    url = exporter.url + "/metrics"
    for _ in range(20):
        before = _fetch(url, None)
        packed = _fetch(url, "gzip")
        after = _fetch(url, None)
        # A probe finishing between the scrapes changes values: retry until the plain scrapes on
        # either side agree, and then the gzip one must read back to exactly the same samples.
        if _samples(before.body.decode()) == _samples(after.body.decode()):
            break
    else:
        pytest.fail("no two consecutive plain scrapes agreed")
    assert before.headers.get("Content-Encoding") is None
    assert packed.status == 200
    assert packed.headers["Content-Encoding"] == "gzip"
    assert packed.headers["Vary"] == "Accept-Encoding"
    assert packed.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert packed.headers["Transfer-Encoding"] == "chunked"  # still streamed
    assert packed.body[:2] == b"\x1f\x8b"
    text = gzip.decompress(packed.body).decode()
    assert _samples(text) == _samples(before.body.decode())
    assert len(_samples(text)) > 20 * TARGETS
    assert len(packed.body) < len(before.body) / 5


@pytest.mark.parametrize(
    ("accept_encoding", "encoded"),
    [
        (None, False),
        ("", False),
        ("gzip", True),
        ("GZip", True),
        ("x-gzip", True),
        ("gzip, deflate, br", True),
        ("*", True),
        ("br", False),
        ("gzip;q=0", False),
        ("gzip; q=0.0, identity", False),
        ("*;q=0, identity", False),
        ("gzip;q=0.5, identity;q=1", False),
        ("identity;q=0.2, gzip;q=0.3", True),
    ],
)
def test_content_encoding_follows_accept_encoding(
    exporter: Running, accept_encoding: str | None, encoded: bool
) -> None:
    answer = _fetch(exporter.url + "/metrics", accept_encoding)
    assert answer.status == 200
    assert answer.headers["Vary"] == "Accept-Encoding"
    if encoded:
        assert answer.headers["Content-Encoding"] == "gzip"
        text = gzip.decompress(answer.body).decode()
    else:
        assert answer.headers.get("Content-Encoding") is None
        text = answer.body.decode()
    assert len(_samples(text)) > 20 * TARGETS


@pytest.mark.parametrize("accept_encoding", ["identity;q=0", "*;q=0", "br, *;q=0"])
def test_nothing_acceptable_is_406(exporter: Running, accept_encoding: str) -> None:
    answer = _fetch(exporter.url + "/metrics", accept_encoding)
    assert answer.status == 406
    assert b"neither gzip nor identity" in answer.body


def test_prometheus_scrapes_the_gzip_exposition(exporter: Running, tmp_path: Path) -> None:
    """Prometheus sends ``Accept-Encoding: gzip`` on every scrape; it stores every series."""
    prometheus = require_tool("prometheus")
    port = free_port()
    target = urllib.parse.urlsplit(exporter.url).netloc
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, scrape_timeout: 1s}\n"
        "scrape_configs:\n"
        f"  - {{job_name: ghost, static_configs: [{{targets: ['{target}']}}]}}\n"
    )
    argv = [
        prometheus,
        f"--config.file={config}",
        f"--storage.tsdb.path={tmp_path / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    api = f"http://127.0.0.1:{port}/api/v1/query?query="

    def query(expr: str) -> list[Any]:
        try:
            with urllib.request.urlopen(api + urllib.parse.quote(expr), timeout=5) as response:
                result: list[Any] = json.loads(response.read())["data"]["result"]
                return result
        except (urllib.error.URLError, ConnectionError):
            return []

    with run_process(argv, tmp_path, "prometheus"):
        wait_until(lambda: query('up{job="ghost"} == 1'), timeout=60)
        wait_until(lambda: query("count(ghost_service_up == 1)"), timeout=30)
        (count,) = query("count(ghost_service_up)")
        assert count["value"][1] == str(TARGETS)
        (note,) = query('ghost_service_up{service="t000"}')
        assert note["metric"]["note"] == 'a \\ "b" ü'
        (samples,) = query('scrape_samples_scraped{job="ghost"}')
        plain = _samples(_fetch(exporter.url + "/metrics", None).body.decode())
        scraped = float(samples["value"][1])
        # Process metrics are left out of ``plain``; everything else Prometheus stored.
        assert scraped >= len(plain)
