"""``make bench``: run every benchmark, print a table, write JSON."""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import time
from pathlib import Path
from typing import Any

from bench import exporter, stress


def _table(title: str, rows: list[dict[str, Any]]) -> str:
    if not rows:
        return ""
    keys = list(rows[0])
    widths = [max(len(k), *(len(_fmt(r[k])) for r in rows)) for k in keys]
    lines = [title, "  ".join(k.rjust(w) for k, w in zip(keys, widths, strict=True))]
    for row in rows:
        lines.append("  ".join(_fmt(row[k]).rjust(w) for k, w in zip(keys, widths, strict=True)))
    return "\n".join(lines) + "\n"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=".run/bench.json")
    parser.add_argument("--seconds", type=float, default=12.0, help="measure window per run")
    args = parser.parse_args()
    logging.getLogger("ghost_exporter").setLevel(logging.ERROR)
    started = time.time()
    results: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
    }
    results.update(exporter.run(seconds=args.seconds))
    results["stress"] = stress.run()
    results["wall_seconds"] = time.time() - started
    print(
        _table(
            "ghost-exporter on loopback HTTP targets (scraped once per interval)",
            results["exporter"],
        )
    )
    print(_table("/metrics rendering vs prometheus_client generate_latest", [results["render"]]))
    print(_table("ghost-stress", [results["stress"]]))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
