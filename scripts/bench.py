"""Benchmark: µs per training step and peak memory, product against floors, in one run.

    python scripts/bench.py                      # quadratic and noisy-line, markdown to stdout
    python scripts/bench.py --steps 500 --models quadratic

Every case runs in a fresh subprocess (so its peak resident memory is its own), trains once to
warm up (tracing, XLA compilation, TensorFlow's thread pools), then trains again, timed. Times
are of that second run's training loop only. JAX rows appear when JAX is installed
(`pip install ".[bench]"`); otherwise a note says they were skipped.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

PRODUCT = {
    # variant: (style, steps per call, XLA)
    "graph": ("graph", 1, False),
    "eager": ("eager", 1, False),
    "function": ("function", 1, False),
}
FLOOR_OF = {"graph": "minimal-graph", "eager": "minimal-eager", "function": "minimal-function"}
FLOORS = ["minimal-graph", "minimal-eager", "minimal-function", "numpy", "jax-jit-step", "jax-loop"]


def _problem(model: str, steps: int):
    from catalog import TrainConfig, prepare

    # gd on both models, so every floor computes the very update the product does.
    return prepare(model, TrainConfig(steps=steps, optimizer="gd"))


def worker(model: str, variant: str, steps: int) -> dict:
    """Run one case in this process and report its timing, memory and losses' checksum."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    problem = _problem(model, steps)
    if variant in PRODUCT:
        from cli_shared.quiet import import_tensorflow_quietly

        import_tensorflow_quietly()
        from training.driver import run
        from training.styles import engine_class

        style, _, _ = PRODUCT[variant]
        engine = engine_class(style)(problem)
        first = run(problem, engine)
        second = run(problem, engine)
        seconds, losses = second.seconds, first.losses
    else:
        if variant.startswith("minimal"):
            from cli_shared.quiet import import_tensorflow_quietly

            import_tensorflow_quietly()
        from bench_floors import FLOORS as floor_functions

        train = floor_functions[variant](problem)
        losses = train()
        start = time.perf_counter()
        train()
        seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "model": model,
        "variant": variant,
        "steps": steps,
        "us_per_step": 1e6 * seconds / steps,
        "peak_mib": peak_kib / 1024,
        "first_loss": float(losses[0]),
        "last_loss": float(losses[-1]),
    }


def measure(model: str, variant: str, steps: int) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--worker", model, variant, str(steps)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{model}/{variant} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def startup_seconds(command: list[str], repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True)
        best = min(best, time.perf_counter() - start)
    return best


def machine() -> str:
    import numpy
    import tensorflow as tf

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    jax = "absent"
    if importlib.util.find_spec("jax") is not None:
        import jax as jax_module

        jax = jax_module.__version__
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
        f"TensorFlow {tf.__version__}, NumPy {numpy.__version__}, JAX {jax}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["quadratic", "noisy-line"])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--worker", nargs=3, metavar=("MODEL", "VARIANT", "STEPS"))
    args = parser.parse_args()
    if args.worker:
        model, variant, steps = args.worker
        print(json.dumps(worker(model, variant, int(steps))))
        return
    have_jax = importlib.util.find_spec("jax") is not None
    floors = [f for f in FLOORS if have_jax or not f.startswith("jax")]
    results: dict[tuple[str, str], dict] = {}
    for model in args.models:
        for variant in [*PRODUCT, *floors]:
            print(f"measuring {model} / {variant} ...", file=sys.stderr)
            results[model, variant] = measure(model, variant, args.steps)
    startup = {
        " ".join(command): startup_seconds([sys.executable, "-m", *command])
        for command in (
            ["graphmode", "--help"],
            ["eagermode", "--help"],
            ["bridge", "--help"],
            ["bridge", "list"],
        )
    }
    print(report(results, args.models, args.steps, have_jax, startup))


def report(
    results: dict, models: list[str], steps: int, have_jax: bool, startup: dict[str, float]
) -> str:
    lines = [f"Machine: {machine()}", f"Steps per run: {steps} (timed after one warm-up run)", ""]
    lines += ["| model | variant | µs/step | peak MiB |", "|---|---|---:|---:|"]
    for (model, variant), r in results.items():
        lines.append(f"| {model} | {variant} | {r['us_per_step']:.2f} | {r['peak_mib']:.0f} |")
    lines += ["", "| model | ratio | value | target |", "|---|---|---:|---|"]
    for model in models:
        for variant, floor in FLOOR_OF.items():
            ratio = results[model, variant]["us_per_step"] / results[model, floor]["us_per_step"]
            lines.append(f"| {model} | {variant} / {floor} | {ratio:.2f} | at most 1.10 |")
    lines += ["", "| command (python -m) | wall seconds, best of 3 | target |", "|---|---:|---|"]
    lines += [f"| {command} | {seconds:.2f} | under 0.5 |" for command, seconds in startup.items()]
    if not have_jax:
        lines += ["", "JAX is not installed: its rows were skipped (`pip install '.[bench]'`)."]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
