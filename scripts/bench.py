"""Benchmark: µs per training step and peak memory, product against floors, in one run.

    python scripts/bench.py                      # quadratic and noisy-line, markdown to stdout
    python scripts/bench.py --steps 500 --models quadratic

Every case runs in a fresh subprocess (so its peak resident memory is its own), trains once to
warm up (tracing, XLA compilation, TensorFlow's thread pools), then three more times, timed; the
fastest of the three is reported. A product run's time covers its whole training loop: every
step, the final loss evaluation and reading back the parameters. JAX rows appear when JAX is
installed (`pip install ".[bench]"`); otherwise a note says they were skipped.
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

REPEATS = 3  # timed runs after the warm-up; the fastest is reported
FUSED = 0  # steps per call: the whole run in one call
PRODUCT = {
    # variant: (style, steps per call, XLA)
    "graph": ("graph", 1, False),
    "eager": ("eager", 1, False),
    "function": ("function", 1, False),
    "graph-fused": ("graph", FUSED, False),
    "function-fused": ("function", FUSED, False),
    "function-fused-xla": ("function", FUSED, True),
}
FLOOR_OF = {"graph": "minimal-graph", "eager": "minimal-eager", "function": "minimal-function"}
FLOORS = ["minimal-graph", "minimal-eager", "minimal-function", "numpy", "jax-jit-step", "jax-loop"]


def _problem(model: str, steps: int):
    from tfmigration.catalog import TrainConfig, prepare

    # gd on both models, so every floor computes the very update the product does.
    return prepare(model, TrainConfig(steps=steps, optimizer="gd"))


def worker(model: str, variant: str, steps: int) -> dict:
    """Run one case in this process and report its timing, memory and losses' checksum."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    problem = _problem(model, steps)
    if variant in PRODUCT:
        from tfmigration.quiet import import_tensorflow_quietly

        import_tensorflow_quietly()
        from tfmigration.training.driver import run
        from tfmigration.training.styles import engine_class

        style, steps_per_call, xla = PRODUCT[variant]
        steps_per_call = steps_per_call or steps
        options = {"steps_per_call": steps_per_call} if style != "eager" else {}
        if xla:
            options["jit_compile"] = True
        engine = engine_class(style)(problem, **options)
        losses = run(problem, engine, steps_per_call=steps_per_call).losses
        seconds = min(
            run(problem, engine, steps_per_call=steps_per_call).seconds for _ in range(REPEATS)
        )
    else:
        if variant.startswith("minimal"):
            from tfmigration.quiet import import_tensorflow_quietly

            import_tensorflow_quietly()
        from bench_floors import FLOORS as floor_functions

        train = floor_functions[variant](problem)
        losses = train()
        seconds = float("inf")
        for _ in range(REPEATS):
            start = time.perf_counter()
            train()
            seconds = min(seconds, time.perf_counter() - start)
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


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive")
    return int(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    from tfmigration.catalog.models import MODELS

    builtin = [name for name, model in MODELS.items() if model.builtin_table is not None]
    parser.add_argument("--models", nargs="+", choices=builtin, default=["quadratic", "noisy-line"])
    parser.add_argument("--steps", type=_positive, default=2000)
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
    lines = [
        f"Machine: {machine()}",
        f"Steps per run: {steps} (best of {REPEATS} timed runs after one warm-up run)",
        "",
    ]
    lines += ["| model | variant | µs/step | peak MiB |", "|---|---|---:|---:|"]
    for (model, variant), r in results.items():
        lines.append(f"| {model} | {variant} | {r['us_per_step']:.2f} | {r['peak_mib']:.0f} |")
    lines += ["", "| model | ratio | value | target |", "|---|---|---:|---|"]

    def ratio(model: str, slower: str, faster: str) -> str:
        if (model, slower) not in results or (model, faster) not in results:
            return "n/a"
        value = results[model, slower]["us_per_step"] / results[model, faster]["us_per_step"]
        return f"{value:.2f}"

    for model in models:
        for variant, floor in FLOOR_OF.items():
            lines.append(
                f"| {model} | {variant} / {floor} | {ratio(model, variant, floor)} | at most 1.10 |"
            )
    targets = [
        ("quadratic", "numpy", "function-fused-xla", "at least 30"),
        ("quadratic", "function-fused-xla", "jax-loop", "at most 2"),
        ("noisy-line", "numpy", "function-fused", "at least 1"),
        ("noisy-line", "numpy", "graph-fused", "at least 1"),
        ("noisy-line", "numpy", "function-fused-xla", "at least 1"),
        ("noisy-line", "function-fused", "jax-loop", "at most 2"),
        ("noisy-line", "function-fused-xla", "jax-loop", "at most 2"),
    ]
    for model, slower, faster, target in targets:
        if model in models:
            lines.append(
                f"| {model} | {slower} / {faster} | {ratio(model, slower, faster)} | {target} |"
            )
    lines += ["", "| command (python -m) | wall seconds, best of 3 | target |", "|---|---:|---|"]
    lines += [f"| {command} | {seconds:.2f} | under 0.5 |" for command, seconds in startup.items()]
    if not have_jax:
        lines += ["", "JAX is not installed: its rows were skipped (`pip install '.[bench]'`)."]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
