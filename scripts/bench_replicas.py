"""Benchmark: µs per training step of `--replicas` 1, 2 and 4, in each style (issue 13).

    python scripts/bench_replicas.py                       # noisy-line, 500 steps, markdown
    python scripts/bench_replicas.py --steps 100 --replicas 1 2 --rows graph function
    python scripts/bench_replicas.py --json                # for scripts/bench.py

What each row runs with `replicas=N`
(`runner(style)(problem, RunSettings(strict=True, replicas=N))`):
- graph: TF1 between-graph replication, 1 parameter server and N worker processes on 127.0.0.1
  (graphmode.between_graph); with 1 replica, the plain one-Session run.
- eager, function: MirroredStrategy over N logical CPUs in this process (eagerly, or its step
  under tf.function); with 1 replica, the plain one-device run.
- eager, multi-worker / function, multi-worker: MultiWorkerMirroredStrategy, one process per
  worker on 127.0.0.1 (`multi_worker=True`); 2 and 4 replicas only.

µs/step is the run's own `Trajectory.seconds` (its training loop; for the runs that start
processes, the chief worker's loop) over the steps. Every case runs in a fresh subprocess,
because TensorFlow's logical CPU devices can only be set up before its first op. An in-process
case trains once to warm up (tracing, thread pools), then `--repeats` times, timed, and the
fastest is reported. A case that starts processes starts fresh ones for every run, so there is
nothing in this process to warm: it runs `--cluster-repeats` times (1 by default: each run
costs 15 to 30 s of start-up on 2 cores) and the fastest is reported. Each case also records the
wall seconds of its whole run (the `train` call: process and server start-up, graph building
or tracing, the loop, collecting the result), so the cost of start-up shows too.

Replicas here are logical devices or local processes on the same cores: the numbers measure
the cost of replication (splitting the batch, per-replica dispatch, the reduction, gRPC round
trips between processes), not a speed-up, which needs more cores than this 2-core machine has.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

REPEATS = 3  # timed runs after a warm-up, in-process cases
CLUSTER_REPEATS = 1  # timed runs, no warm-up, cases that start processes
CASE_TIMEOUT_SECONDS = 300
ROWS = {
    # row: (style, multi_worker, label)
    "graph": ("graph", False, "graph"),
    "eager": ("eager", False, "eager"),
    "function": ("function", False, "function"),
    "eager-multi-worker": ("eager", True, "eager, multi-worker"),
    "function-multi-worker": ("function", True, "function, multi-worker"),
}
NOT_RUN = "—"


def starts_processes(row: str, replicas: int) -> bool:
    """Whether every run of this case starts a local cluster (between-graph, multi-worker)."""
    style, multi_worker, _ = ROWS[row]
    return replicas > 1 and (style == "graph" or multi_worker)


def runs_case(row: str, replicas: int) -> bool:
    """Multi-worker rows have no 1-replica case: that is the plain one-device run."""
    return replicas > 1 or not ROWS[row][1]


def worker(
    model: str,
    row: str,
    replicas: int,
    steps: int,
    *,
    repeats: int = REPEATS,
    cluster_repeats: int = CLUSTER_REPEATS,
) -> dict:
    """Run one case in this process: the fastest of its timed runs, with its whole run's wall
    seconds."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from tfmigration.catalog import TrainConfig, prepare
    from tfmigration.quiet import import_tensorflow_quietly

    import_tensorflow_quietly()
    from bridge.styles import runner
    from tfmigration.devices import ensure_logical_cpus
    from tfmigration.execution import RunSettings

    if not runs_case(row, replicas):
        raise ValueError(f"{row} needs 2 replicas or more")
    style, multi_worker, label = ROWS[row]
    processes = starts_processes(row, replicas)
    if not processes:
        ensure_logical_cpus(replicas)
    problem = prepare(model, TrainConfig(steps=steps, optimizer="gd"))
    train = runner(style)
    settings = RunSettings(strict=True, replicas=replicas, multi_worker=multi_worker)

    def once() -> tuple[float, float, float]:
        begun = time.perf_counter()
        trajectory = train(problem, settings)
        return trajectory.seconds, time.perf_counter() - begun, float(trajectory.final_loss)

    if not processes:
        once()  # warm-up, untimed
    runs = [once() for _ in range(cluster_repeats if processes else repeats)]
    loop_seconds, wall_seconds, final_loss = min(runs)
    return {
        "model": model,
        "row": row,
        "label": label,
        "style": style,
        "multi_worker": multi_worker,
        "replicas": replicas,
        "steps": steps,
        "starts_processes": processes,
        "timed_runs": len(runs),
        "us_per_step": loop_seconds / steps * 1e6,
        "loop_seconds": loop_seconds,
        "wall_seconds": wall_seconds,
        "final_loss": final_loss,
        "final_losses": sorted({run[2] for run in runs}),
    }


def _run_case(
    model: str, row: str, replicas: int, steps: int, repeats: int, cluster_repeats: int
) -> dict:
    command = [
        *(sys.executable, __file__, "--worker", model, row, str(replicas), str(steps)),
        *("--repeats", str(repeats), "--cluster-repeats", str(cluster_repeats)),
    ]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=CASE_TIMEOUT_SECONDS, check=False
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(
            f"{model}/{row}/{replicas} replicas: no result after {CASE_TIMEOUT_SECONDS} s"
        ) from None
    if done.returncode != 0:
        raise RuntimeError(f"{model}/{row}/{replicas} replicas failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(
    model: str = "noisy-line",
    steps: int = 500,
    counts: tuple[int, ...] = (1, 2, 4),
    rows: tuple[str, ...] = tuple(ROWS),
    repeats: int = REPEATS,
    cluster_repeats: int = CLUSTER_REPEATS,
) -> dict:
    """Every case, one fresh subprocess each, and the whole measurement's wall seconds."""
    begun = time.perf_counter()
    load_at_start = os.getloadavg()[0]
    results = []
    for row in rows:
        for count in counts:
            if runs_case(row, count):
                print(f"measuring {model} / {row} / {count} replicas ...", file=sys.stderr)
                results.append(_run_case(model, row, count, steps, repeats, cluster_repeats))
    return {
        "model": model,
        "steps": steps,
        "repeats": repeats,
        "cluster_repeats": cluster_repeats,
        "results": results,
        "seconds": time.perf_counter() - begun,
        "load": (load_at_start, os.getloadavg()[0]),
    }


def _grid(results: list[dict]) -> tuple[list[int], dict[str, dict[int, dict]]]:
    counts = sorted({result["replicas"] for result in results})
    grid: dict[str, dict[int, dict]] = {}
    for result in results:
        grid.setdefault(result["label"], {})[result["replicas"]] = result
    return counts, grid


def _header(counts: list[int], unit: str) -> list[str]:
    return [
        "| style | "
        + " | ".join(f"{count} replica{'s' * (count > 1)} ({unit})" for count in counts)
        + " |",
        "|---|" + "---:|" * len(counts),
    ]


def _one_device(results: list[dict], result: dict) -> dict | None:
    """The plain one-device run of the same style, which a replicated run is compared to."""
    for other in results:
        same_style = other["style"] == result["style"] and not other["multi_worker"]
        if other["replicas"] == 1 and same_style:
            return other
    return None


def _table(results: list[dict], unit: str, cell: Callable[[dict], str]) -> str:
    """A markdown table: one row per kind of run, one column per replica count, `cell(result)`
    in each measured cell."""
    counts, grid = _grid(results)
    lines = _header(counts, unit)
    for label, cells in grid.items():
        texts = [cell(cells[count]) if count in cells else NOT_RUN for count in counts]
        lines.append(f"| {label} | " + " | ".join(texts) + " |")
    return "\n".join(lines) + "\n"


def report(results: list[dict]) -> str:
    """A markdown table: one row per kind of run, one column per replica count, µs/step, and
    for replicated runs the factor over the same style's one-device run when it was measured."""

    def cell(result: dict) -> str:
        text = f"{result['us_per_step']:.0f}"
        base = _one_device(results, result)
        if result["replicas"] > 1 and base is not None:
            text += f" ({result['us_per_step'] / base['us_per_step']:.1f}x)"
        return text

    return _table(results, "µs/step", cell)


def wall_report(results: list[dict]) -> str:
    """A markdown table of whole runs' wall seconds and, in parentheses, how much of each was
    outside the training loop (start-up: processes and servers, building or tracing,
    collecting)."""

    def cell(result: dict) -> str:
        outside = max(0.0, result["wall_seconds"] - result["loop_seconds"])
        return f"{result['wall_seconds']:.1f} ({outside:.1f})"

    return _table(results, "s", cell)


def startup_range(results: list[dict]) -> tuple[float, float] | None:
    """The least and most seconds outside the loop among the runs that start processes."""
    outside = [r["wall_seconds"] - r["loop_seconds"] for r in results if r["starts_processes"]]
    return (min(outside), max(outside)) if outside else None


def ratio_range(results: list[dict]) -> tuple[float, float] | None:
    """The least and most factor of a replicated run's µs/step over its one-device run's."""
    ratios = []
    for result in results:
        base = _one_device(results, result)
        if result["replicas"] > 1 and base is not None:
            ratios.append(result["us_per_step"] / base["us_per_step"])
    return (min(ratios), max(ratios)) if ratios else None


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive")
    return int(text)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="noisy-line")
    parser.add_argument("--steps", type=_positive, default=500)
    parser.add_argument("--replicas", type=_positive, nargs="+", default=[1, 2, 4])
    parser.add_argument("--rows", nargs="+", choices=list(ROWS), default=list(ROWS))
    parser.add_argument("--repeats", type=_positive, default=REPEATS)
    parser.add_argument("--cluster-repeats", type=_positive, default=CLUSTER_REPEATS)
    parser.add_argument("--json", action="store_true", help="Print the results as one JSON line.")
    parser.add_argument("--worker", nargs=4, metavar=("MODEL", "ROW", "REPLICAS", "STEPS"))
    args = parser.parse_args(argv)
    if args.worker:
        model, row, replicas, steps = args.worker
        record = worker(
            model,
            row,
            int(replicas),
            int(steps),
            repeats=args.repeats,
            cluster_repeats=args.cluster_repeats,
        )
        print(json.dumps(record))
        return
    measured = measure(
        args.model,
        args.steps,
        tuple(args.replicas),
        tuple(args.rows),
        args.repeats,
        args.cluster_repeats,
    )
    if args.json:
        print(json.dumps(measured))
        return
    results = measured["results"]
    print(
        f"{args.model}, {args.steps} steps, gd, strict; in-process cases fastest of "
        f"{args.repeats} after a warm-up, cases that start processes fastest of "
        f"{args.cluster_repeats}:\n"
    )
    print(report(results))
    print("Whole runs, wall seconds (in parentheses: outside the training loop):\n")
    print(wall_report(results))
    start, end = measured["load"]
    print(
        f"Whole measurement: {measured['seconds']:.0f} s; load average (1 min) "
        f"{start:.2f} at the start, {end:.2f} at the end."
    )


if __name__ == "__main__":
    main()
