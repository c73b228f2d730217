"""How long each end-to-end alert took, collected over the session and printed at its end."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pytest


@dataclass(frozen=True, slots=True)
class AlertTiming:
    """One fault: when its alert fired and reached the webhook, and when it resolved there.

    Every figure is in seconds: ``fired`` from the fault to the alert's ``startsAt`` (the end of
    its ``for``), ``notified`` from the fault to the firing notification at the receiver,
    ``resolved`` from healing to the resolved notification at the receiver.
    """

    case: str
    alertname: str
    service: str
    receivers: list[str]
    fired: float
    notified: float
    resolved: float


@dataclass
class AlertTimings:
    rows: list[AlertTiming] = field(default_factory=list)
    json_path: Path | None = None

    def add(self, row: AlertTiming) -> None:
        self.rows.append(row)

    def write_json(self, path: Path) -> None:
        path.write_text(json.dumps([asdict(row) for row in self.rows], indent=2) + "\n")
        self.json_path = path

    def table(self) -> list[str]:
        headers = ("fault", "alert", "service", "receivers", "fired s", "notified s", "resolved s")
        cells = [
            (
                row.case,
                row.alertname,
                row.service,
                ", ".join(row.receivers),
                f"{row.fired:.1f}",
                f"{row.notified:.1f}",
                f"{row.resolved:.1f}",
            )
            for row in self.rows
        ]
        widths = [max(len(line[i]) for line in [headers, *cells]) for i in range(len(headers))]
        numeric = range(4, len(headers))

        def render(line: tuple[str, ...]) -> str:
            return "  ".join(
                text.rjust(width) if i in numeric else text.ljust(width)
                for i, (text, width) in enumerate(zip(line, widths, strict=True))
            ).rstrip()

        return [render(headers), *(render(line) for line in cells)]


TIMINGS = pytest.StashKey[AlertTimings]()
