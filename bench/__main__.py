"""``make bench``: run every benchmark ``--repeat`` times, print the median and range of each
figure as Markdown tables, write every run and the summary as JSON.

One repetition: the fixed-work calibration and the side-by-side run against blackbox_exporter,
then both again under a background load (``bench/load.py``), then the scale, sharding, rendering
and ghost-stress runs. The full default (3 repetitions) takes 16 to 21 minutes.
"""

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

from bench import blackbox, contention, exporter, load, pipelines, stress, summary
from bench.procstat import idle_share

PARTS = ("side", "load", "scale", "shards", "render", "stress", "pipelines")
#: Below this share of idle CPU before the runs, the figures are not quiet-machine figures.
QUIET_IDLE_SHARE = 0.9
SHARD_COUNTS = (1, 2, 4)


def _one_run(args: argparse.Namespace, base: str, tmp: Path, sizes: tuple[int, ...]) -> Any:
    run: dict[str, Any] = {}
    if "side" in args.parts:
        run["calibration"] = contention.run()
        run["side_by_side"] = blackbox.run(
            base, tmp, n=args.side_targets, seconds=args.side_seconds
        )
    if "load" in args.parts:
        # Bounded in any case: the loaded part takes two exporter runs of side_seconds each.
        bound = 4 * args.side_seconds + 120
        with load.background_load(tmp, workers=args.load_workers, max_seconds=bound):
            run["calibration_loaded"] = contention.run()
            run["side_by_side_loaded"] = blackbox.run(
                base, tmp, n=args.side_targets, seconds=args.side_seconds, asyncio_loop=False
            )
    if "scale" in args.parts:
        run["exporter"] = [exporter.run_exporter(base, n, 15.0, args.seconds, tmp) for n in sizes]
    if "shards" in args.parts:
        run["shards"] = exporter.run_shards(base, 2000, SHARD_COUNTS, 5.0, 15.0, tmp)
    if "render" in args.parts:
        run["render"] = exporter.render_comparison()
        run["loop_hold"] = exporter.loop_hold()
    if "stress" in args.parts:
        run["stress"] = stress.run()
    if "pipelines" in args.parts:
        run["pipelines"] = pipelines.run(tmp, seconds=min(60.0, 2 * args.seconds))
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=".run/bench.json")
    parser.add_argument("--repeat", type=int, default=3, help="runs of every measurement")
    parser.add_argument(
        "--seconds", type=float, default=30.0, help="measure window of the 1,000/10,000 runs"
    )
    parser.add_argument(
        "--side-seconds", type=float, default=15.0, help="measure window of each side-by-side run"
    )
    parser.add_argument("--side-targets", type=int, default=200, help="targets side by side")
    parser.add_argument(
        "--load-workers", type=int, default=4, help="worker processes of the background load"
    )
    parser.add_argument(
        "--sizes",
        default="1000,10000",
        help="comma-separated target counts of the scale runs (default 1000,10000)",
    )
    parser.add_argument(
        "--only",
        default=",".join(PARTS),
        help=f"comma-separated parts to run, of {', '.join(PARTS)} (default all)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="one run, 1,000 targets only, 15 s windows"
    )
    args = parser.parse_args()
    args.parts = set(args.only.split(","))
    unknown = args.parts - set(PARTS)
    if unknown:
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    sizes = tuple(int(n) for n in args.sizes.split(","))
    if args.quick:
        args.repeat, args.seconds, sizes = 1, 15.0, (1000,)
    logging.getLogger("ghost_exporter").setLevel(logging.ERROR)
    idle = idle_share()
    started = time.time()
    runs = []
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        with exporter.target_server(tmp) as base:
            for index in range(args.repeat):
                began = time.time()
                runs.append(_one_run(args, base, tmp, sizes))
                print(f"run {index + 1}/{args.repeat} done in {time.time() - began:.0f} s")
    result = summary.summarise(runs, args.side_targets, sizes, SHARD_COUNTS)
    results = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "idle_share_before": idle,
            "load_average_at_end": os.getloadavg(),
        },
        "repeat": args.repeat,
        "runs": runs,
        "summary": result,
        "wall_seconds": time.time() - started,
    }
    print()
    day = time.strftime("%d %B %Y", time.gmtime(started))
    print(
        f"`python -m bench`, {day}, {args.repeat} runs, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, {idle:.0%} of the CPU time idle before the runs\n"
    )
    print(summary.markdown(result, args.repeat))
    if idle < QUIET_IDLE_SHARE:
        print(
            f"NOT A QUIET MACHINE: only {idle:.0%} of the CPU time was idle in the 3 s before "
            "the runs; these figures are inflated (see docs/performance.md) and are not the "
            "quiet-machine figures of the docs."
        )
    else:
        print(f"quiet machine: {idle:.0%} of the CPU time was idle in the 3 s before the runs")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"{args.repeat} runs in {results['wall_seconds']:.0f} s, written to {out}")


if __name__ == "__main__":
    main()
