"""``make bench``: run every benchmark, print a table, write JSON."""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import blackbox, exporter, pipelines, stress


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
    parser.add_argument(
        "--seconds", type=float, default=30.0, help="measure window of the 1,000/10,000 runs"
    )
    parser.add_argument(
        "--quick", action="store_true", help="smaller runs (1,000 targets only, 15 s windows)"
    )
    args = parser.parse_args()
    logging.getLogger("ghost_exporter").setLevel(logging.ERROR)
    started = time.time()
    results: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
    }
    sizes = (1000,) if args.quick else (1000, 10_000)
    seconds = 15.0 if args.quick else args.seconds
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        with exporter.target_server(tmp) as base:
            results["side_by_side"] = blackbox.run(base, tmp, seconds=15.0)
            results.update(exporter.run(tmp, base, sizes=sizes, seconds=seconds))
        results["pipelines"] = pipelines.run(tmp, seconds=30.0 if args.quick else 60.0)
    results["stress"] = stress.run()
    results["wall_seconds"] = time.time() - started
    side = results["side_by_side"]
    print(
        _table(
            "CPU per HTTP probe, side by side on the same 200 targets "
            f"(ghost / blackbox = {side['ratio']:.2f})",
            side["rows"],
        )
    )
    print(
        _table("ghost-exporter at a 15 s interval, scraped once per interval", results["exporter"])
    )
    print(_table("sharding 2,000 targets over N exporters (--probe.shard)", results["shards"]))
    print(_table("/metrics rendering vs prometheus_client generate_latest", [results["render"]]))
    print(_table("ghost-stress", [results["stress"]]))
    print(_table("100 pipelines at 15 s: CPU per canary round", [results["pipelines"]]))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
