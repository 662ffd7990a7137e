"""Benchmark: µs per training step of `--replicas` 1, 2 and 4, in each style (issue 13).

    python scripts/bench_replicas.py                       # noisy-line, 500 steps, markdown
    python scripts/bench_replicas.py --steps 100 --replicas 1 2

Every case runs in a fresh subprocess, because TensorFlow's logical CPU devices can only be set
up before its first op; each trains once to warm up (tracing, thread pools), then three times,
timed, and the fastest is reported. Replicas here are logical devices on the same cores: the
numbers measure the cost of replication (splitting, per-replica dispatch, the reduction), not a
speed-up, which needs more cores than this 2-core machine has.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

REPEATS = 3
STYLES = ("graph", "eager", "function")
CASE_TIMEOUT_SECONDS = 600


def worker(model: str, style: str, replicas: int, steps: int) -> dict:
    """Run one case in this process: the fastest of REPEATS runs after a warm-up."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from tfmigration.catalog import TrainConfig, prepare
    from tfmigration.quiet import import_tensorflow_quietly

    import_tensorflow_quietly()
    from tfmigration.devices import ensure_logical_cpus
    from tfmigration.training.styles import runner

    ensure_logical_cpus(replicas)
    problem = prepare(model, TrainConfig(steps=steps, optimizer="gd"))
    train = runner(style)
    runs = [train(problem, strict=True, replicas=replicas) for _ in range(1 + REPEATS)]
    seconds = min(run.seconds for run in runs[1:])
    return {
        "model": model,
        "style": style,
        "replicas": replicas,
        "steps": steps,
        "us_per_step": seconds / steps * 1e6,
        "final_loss": float(runs[-1].final_loss),
    }


def _run_case(model: str, style: str, replicas: int, steps: int) -> dict:
    command = [sys.executable, __file__, "--worker", model, style, str(replicas), str(steps)]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=CASE_TIMEOUT_SECONDS, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(results: list[dict]) -> str:
    """A markdown table: one row per style, one column per replica count."""
    counts = sorted({result["replicas"] for result in results})
    lines = [
        "| style | "
        + " | ".join(f"{count} replica{'s' * (count > 1)} (µs/step)" for count in counts)
        + " |",
        "|---|" + "---:|" * len(counts),
    ]
    for style in dict.fromkeys(result["style"] for result in results):
        cells = {r["replicas"]: r["us_per_step"] for r in results if r["style"] == style}
        lines.append(f"| {style} | " + " | ".join(f"{cells[count]:.0f}" for count in counts) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="noisy-line")
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--styles", nargs="+", choices=STYLES, default=list(STYLES))
    parser.add_argument("--worker", nargs=4, metavar=("MODEL", "STYLE", "REPLICAS", "STEPS"))
    args = parser.parse_args(argv)
    if args.worker:
        model, style, replicas, steps = args.worker
        print(json.dumps(worker(model, style, int(replicas), int(steps))))
        return
    results = [
        _run_case(args.model, style, replicas, args.steps)
        for style in args.styles
        for replicas in args.replicas
    ]
    print(f"{args.model}, {args.steps} steps, gd, strict, fastest of {REPEATS}:\n")
    print(report(results), end="")


if __name__ == "__main__":
    main()
