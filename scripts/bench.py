"""Benchmark: µs per training step and peak memory, product against floors, in one run.

    python scripts/bench.py                       # quadratic and noisy-line, markdown to stdout
    python scripts/bench.py --write BENCHMARKS.md  # the page itself, tables, targets and "met"
    python scripts/bench.py --steps 500 --models quadratic

Every case runs in a fresh subprocess (so its peak resident memory is its own). Every variant,
product or floor, is timed from the same start: a prepared problem in memory (data, initial
values and batch order drawn in NumPy), TensorFlow or JAX imported. The clock covers building
the run (graph and Session, engine, tf.function tracing, XLA or JAX compilation, and the data
path: the fused loops' pre-gathered batch schedule, JAX's device copies), every step, the
final loss on the whole data (each floor computes it too, in its own style), and reading the
losses, final loss and final parameters back as NumPy values. One untimed run warms the process
(thread pools, kernel caches), then five timed runs (`REPEATS`); the fastest is reported.
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

REPEATS = 5  # timed runs after the warm-up; the fastest is reported
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


def _product_run(problem, variant: str):
    """A product case as a fresh run: engine built (data path included), trained, read back."""
    from bridge.styles import engine_class
    from tfmigration.training.driver import run

    style, steps_per_call, xla = PRODUCT[variant]
    steps_per_call = steps_per_call or problem.steps
    options = {"steps_per_call": steps_per_call} if style != "eager" else {}
    if xla:
        options["jit_compile"] = True

    def once():
        engine = engine_class(style)(problem, **options)
        try:
            trajectory = run(problem, engine, steps_per_call=steps_per_call)
        finally:
            if hasattr(engine, "close"):
                engine.close()
        return trajectory.losses, trajectory.final_loss, trajectory.final_params

    return once


def _floor_run(problem, variant: str):
    """A floor case as a fresh run: its set-up (build, data path) and its training loop."""
    from bench_floors import FLOORS as floor_functions

    def once():
        return floor_functions[variant](problem)()

    return once


def worker(model: str, variant: str, steps: int) -> dict:
    """Run one case in this process and report its timing, memory and losses' checksum."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    problem = _problem(model, steps)
    if variant in PRODUCT or variant.startswith("minimal"):
        from tfmigration.quiet import import_tensorflow_quietly

        import_tensorflow_quietly()
    once = _product_run(problem, variant) if variant in PRODUCT else _floor_run(problem, variant)
    losses, _, _ = once()  # warm-up, untimed
    seconds = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        once()
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


def run_json(arguments: list[str], what: str) -> dict:
    """Run a Python script with `arguments` and return the JSON on its last line of output;
    fail naming `what`, with the end of its standard error."""
    done = subprocess.run([sys.executable, *arguments], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(model: str, variant: str, steps: int) -> dict:
    return run_json([__file__, "--worker", model, variant, str(steps)], f"{model}/{variant}")


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

    from tfmigration.machine import cpu as describe_cpu

    cpu = describe_cpu()["model"]
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
    parser.add_argument("--write", metavar="FILE", help="Write the page to FILE (all or nothing).")
    parser.add_argument(
        "--long",
        action="store_true",
        help="Check the 10M-parameter CNN at 100 and 1,000 steps (about 30 minutes more) "
        "instead of 25 and 100.",
    )
    parser.add_argument(
        "--skip-scale",
        action="store_true",
        help="Leave out the Checking at scale section (about 10 minutes).",
    )
    parser.add_argument(
        "--skip-replicas",
        action="store_true",
        help="Leave out the Replicas section (scripts/bench_replicas.py, about 5 minutes).",
    )
    args = parser.parse_args()
    if args.worker:
        model, variant, steps = args.worker
        print(json.dumps(worker(model, variant, int(steps))))
        return
    have_jax = importlib.util.find_spec("jax") is not None
    floors = [f for f in FLOORS if have_jax or not f.startswith("jax")]
    results: dict[tuple[str, str], dict] = {}
    load_at_start = os.getloadavg()[0]
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
    print("measuring tfbridge check on examples/digits_mlp.py ...", file=sys.stderr)
    checking = check_overheads()
    scale = None
    if not args.skip_scale:
        print("measuring tfbridge check on scripts/bench_models/ ...", file=sys.stderr)
        scale = check_at_scale(long=args.long)
    replicating = None
    if not args.skip_replicas:
        print("measuring --replicas 1, 2, 4 of noisy-line ...", file=sys.stderr)
        replicating = replica_overheads()
    load = (load_at_start, os.getloadavg()[0])
    page = report(
        results, args.models, args.steps, have_jax, startup, load, checking, replicating, scale
    )
    if args.write:
        from tfmigration.serialize import write_atomically

        existing = Path(args.write).read_text() if Path(args.write).exists() else ""
        write_atomically(args.write, keep_foreign_sections(page, existing))
    else:
        print(page, end="")


def check_overheads(steps: int = 100, repeat: int = 3) -> dict:
    """`tfbridge check` on examples/digits_mlp.py against its bare trainings, in a subprocess
    (scripts/bench_check.py): live against the three styles' trainings, and against a recording
    against the two ports' trainings."""
    script = str(Path(__file__).with_name("bench_check.py"))
    return run_json(
        [script, "--steps", str(steps), "--repeat", str(repeat), "--json"], "bench_check.py"
    )


def keep_foreign_sections(page: str, existing: str) -> str:
    """`page` followed by every `## ` section of `existing` that this script does not write (a
    section another script appends, such as "Localising a layer"), verbatim and in order."""
    ours = {line for line in page.splitlines() if line.startswith("## ")}
    foreign: list[str] = []
    keeping = False
    for line in existing.splitlines():
        if line.startswith("## "):
            keeping = line not in ours
        if keeping:
            foreign.append(line)
    if not foreign:
        return page
    return page.rstrip("\n") + "\n\n" + "\n".join(foreign).rstrip("\n") + "\n"


SCALE_MODELS = {
    # name: (file, (small, large) steps for memory, steps timed, --long's step counts)
    "mlp": ("scripts/bench_models/mlp_1m6.py", (25, 200), 100, (25, 200)),
    "cnn": ("scripts/bench_models/cnn_10m.py", (25, 100), 100, (100, 1000)),
}
SCALE_GROWTH = 0.15  # peak memory may grow by at most 15% from the smaller step count to the larger
SCALE_OVER_BARE = 2.0  # check's peak at most twice the largest bare training's
SCALE_TIME = 1.20  # check's time at most 1.2x the three bare trainings
RECORD_EVERY = 25  # the CNN's recordings keep every 25th step's values (120 MB each)


def check_at_scale(*, long: bool = False, repeat: int = 1, steps: dict | None = None) -> dict:
    """Peak memory (one fresh subprocess a case) and time against the bare trainings of
    `tfbridge check` on the 1.6M-parameter MLP and the 10M-parameter CNN of
    scripts/bench_models/, with record and check --against for the CNN. `steps` overrides
    each model's (small, large, timed) step counts (the tests use tiny ones)."""
    script = str(Path(__file__).with_name("bench_check.py"))
    measured: dict = {"long": long, "repeat": repeat, "models": {}}
    start = time.perf_counter()
    for name, (file, memory_steps, timed, long_steps) in SCALE_MODELS.items():
        small, large = long_steps if long else memory_steps
        if steps is not None:
            small, large, timed = steps[name]
        against = ["--against", "--every", str(RECORD_EVERY)] if name == "cnn" else []
        path = str(ROOT / file)
        memory = run_json(
            [script, path, "--memory", str(small), str(large), *against], f"{name} memory"
        )
        timing = run_json(
            [script, path, "--steps", str(timed), "--repeat", str(repeat), "--json", "--live-only"],
            f"{name} time",
        )
        measured["models"][name] = {"memory": memory, "time": timing["live"]}
    measured["seconds"] = time.perf_counter() - start
    return measured


def _peak(memory: dict, case: str, steps: int) -> float:
    return next(c["peak_mib"] for c in memory["cases"] if c["case"] == case and c["steps"] == steps)


def _met(ok: bool) -> str:
    return "yes" if ok else "**no**"


def scale_section(measured: dict) -> list[str]:
    """The Checking at scale section: peak memory by step count, time against the bare
    trainings, every target and whether it was met."""
    mlp, cnn = measured["models"]["mlp"], measured["models"]["cnn"]
    lines = [
        "## Checking at scale",
        "",
        "`tfbridge check --strict` on two models with Adam, batch 32, synthetic data, written as",
        "a user writes TF1 and its Keras port (`scripts/bench_models/`): `mlp_1m6.py`, an MLP",
        "784-1024-768-10 (1,598,730 parameters), and `cnn_10m.py`, conv 32, pool, conv 64 and a",
        "Dense 12544-800 (10,062,154 parameters, most in that one kernel). Peak memory is",
        "`ru_maxrss` of a fresh subprocess per case (`scripts/bench_check.py --memory`): the",
        "check, each style's bare training alone, and for the CNN `record --every "
        f"{RECORD_EVERY}` and",
        "`check --against` that recording. Time is the check against the three bare trainings",
        f"in one process, interleaved, best of {measured['repeat']} (`scripts/bench_check.py`).",
    ]
    if not measured["long"]:
        lines += [
            "The CNN's memory is measured at 25 and 100 steps: at 1,000 steps one check alone",
            "takes about 10 minutes here, so that case is behind `scripts/bench.py --long`.",
        ]
    lines += ["", "| model | case | steps | seconds | peak MiB |", "|---|---|---:|---:|---:|"]
    for name, result in measured["models"].items():
        for case in result["memory"]["cases"]:
            what = case["case"] + (f" ({case['verdict']})" if case["verdict"] else "")
            lines.append(
                f"| {name} | {what} | {case['steps']} | {case['seconds']:.1f} "
                f"| {case['peak_mib']:.0f} |"
            )
    lines += [
        "",
        "| model | what was measured | value | target | met |",
        "|---|---|---:|---|---|",
    ]
    for name, result in (("mlp", mlp), ("cnn", cnn)):
        memory, timing = result["memory"], result["time"]
        small, large = memory["small"], memory["large"]
        growth = _peak(memory, "check", large) / _peak(memory, "check", small) - 1
        lines.append(
            f"| {name} | check's peak memory, {small} to {large} steps | {100 * growth:+.1f}% "
            f"| at most +{100 * SCALE_GROWTH:.0f}% | {_met(growth <= SCALE_GROWTH)} |"
        )
        if name == "cnn":
            bare = max(_peak(memory, style, large) for style in ("graph", "eager", "function"))
            over = _peak(memory, "check", large) / bare
            lines.append(
                f"| {name} | check's peak at {large} steps / largest bare training's | "
                f"{over:.2f} | at most {SCALE_OVER_BARE:.2f} | {_met(over <= SCALE_OVER_BARE)} |"
            )
            for case in ("record", "against"):
                grown = _peak(memory, case, large) / _peak(memory, case, small) - 1
                label = "record's" if case == "record" else "check --against's"
                lines.append(
                    f"| {name} | {label} peak memory, {small} to {large} steps | "
                    f"{100 * grown:+.1f}% | at most +{100 * SCALE_GROWTH:.0f}% "
                    f"| {_met(grown <= SCALE_GROWTH)} |"
                )
        ratio = timing["ratio"]
        lines.append(
            f"| {name} | check / three bare trainings, {timing['steps']} steps "
            f"({timing['check_seconds']:.1f} s / {timing['bare_seconds']:.1f} s) | {ratio:.2f} "
            f"| at most {SCALE_TIME:.2f} | {_met(ratio <= SCALE_TIME)} |"
        )
    lines += ["", f"The whole section took {measured['seconds']:.0f} s to measure."]
    return lines


def replica_overheads(model: str = "noisy-line", steps: int = 500) -> dict:
    """µs/step of --replicas 1, 2 and 4 in each style, and each whole run's wall seconds, in a
    subprocess (scripts/bench_replicas.py, one fresh subprocess per case)."""
    script = str(Path(__file__).with_name("bench_replicas.py"))
    return run_json(
        [script, "--model", model, "--steps", str(steps), "--json"], "bench_replicas.py"
    )


CHECK_TARGETS = {"live": 1.20, "against": 1.10}

TARGETS = [
    # (model or None for every model, slower variant, faster variant, largest ratio allowed, why)
    *[
        (None, variant, floor, 1.10, "product overhead at most 10% over the minimal loop")
        for variant, floor in FLOOR_OF.items()
    ],
    ("noisy-line", "function-fused-xla", "jax-loop", 1.00, "fused + XLA no slower than JAX"),
    ("quadratic", "function-fused-xla", "jax-loop", 2.00, "fused + XLA within 2x of JAX"),
]
STARTUP_TARGET_SECONDS = 0.5

VARIANTS_TEXT = """\
- **graph / eager / function**: the product, one step per call (`graphmode`, `eagermode`,
  `tfbridge train`), through the shared training loop (`tfmigration/training/driver.py`).
- **graph-fused / function-fused**: `--steps-per-call` equal to the step count: the whole run in
  one `Session.run` of a `tf.while_loop`, or in one `tf.function` call, batches taken from a
  schedule held inside TensorFlow. **function-fused-xla** adds `--jit-compile`.
- **minimal-graph / minimal-eager / minimal-function**: hand-written loops in the same style
  without the product's machinery (`scripts/bench_floors.py`); the product's overhead is the
  ratio to them.
- **numpy**: a hand-written NumPy float32 loop; **jax-jit-step**: a jitted JAX step per Python
  call; **jax-loop**: the whole run under `jax.jit` with `lax.scan` (collecting each step's loss,
  as our fused loops do)."""


def replicas_section(measured: dict) -> list[str]:
    """The Replicas section: µs/step of --replicas 1, 2 and 4, whole runs' wall seconds, and
    what the numbers show on this machine."""
    from bench_replicas import ratio_range, report, startup_range, wall_report

    results = measured["results"]
    lines = [
        "## Replicas",
        "",
        f"`--replicas N` on `{measured['model']}`, {measured['steps']} steps, gd, `--strict`",
        "(`scripts/bench_replicas.py`), each case in a fresh subprocess. graph: with 1 replica",
        "the one-Session run, with N TF1 between-graph replication (1 parameter server and N",
        "worker processes on 127.0.0.1); eager and function: MirroredStrategy over N logical",
        "CPUs in one process; multi-worker: MultiWorkerMirroredStrategy, one process per worker",
        "(their 1-replica case is the plain run of the row above). µs/step is the training loop",
        "only (the chief worker's, for the runs that start processes); in parentheses, the",
        "factor over the same style's one-device run. In-process cases: fastest of",
        f"{measured['repeats']} after a warm-up. Cases that start processes start them afresh",
        "for every run, so nothing can be warmed: fastest of "
        f"{measured['cluster_repeats']} (each run pays its start-up again), so their figures",
        "move more between runs than the others.",
        "",
        *report(results).splitlines(),
        "",
        "Whole runs, the `train` call from start to trajectory, wall seconds; in parentheses the",
        "part outside the training loop (starting the processes, each importing TensorFlow, and",
        "their servers; building the graph or tracing; collecting the results):",
        "",
        *wall_report(results).splitlines(),
    ]
    if "load" in measured:
        start, end = measured["load"]
        lines += [
            "",
            f"Load average (1 min) when these cases started: {start:.2f}, when they ended: "
            f"{end:.2f} (the runs that start processes raise it themselves: 3 to 5 processes);",
            f"the whole measurement took {measured['seconds']:.0f} s.",
        ]
    startup = startup_range(results)
    if startup is not None:
        low, high = startup
        loops = [r["loop_seconds"] for r in results if r["starts_processes"]]
        lines += [
            "",
            f"Starting a local cluster costs {low:.1f} to {high:.1f} s per run here, against",
            f"training loops of {min(loops):.1f} to {max(loops):.1f} s: every process imports",
            "TensorFlow and starts a gRPC server, and the workers build their graph or strategy,",
            "before the first step, with 3 to 5 processes sharing 2 cores.",
        ]
    ratios = ratio_range(results)
    if ratios is not None:
        low, high = ratios
        verdict = (
            f"every replicated run is {low:.1f} to {high:.1f} times slower per step than its "
            "one-device run"
            if low > 1
            else f"replicated runs take {low:.1f} to {high:.1f} times the one-device µs/step"
        )
        lines += [
            "",
            "What the numbers show: this machine has 2 cores, and the replicas are logical",
            f"devices or local processes sharing them, so no speed-up is expected; {verdict}.",
            "The figures are the cost of replication: splitting each batch, dispatching each",
            "replica's step, reducing the losses and gradients (a collective all-reduce across",
            "processes for multi-worker, a ConditionalAccumulator on the parameter server for",
            "between-graph), and for the runs with processes the gRPC round trips of every step.",
            "Under tf.function, MirroredStrategy's replicas run inside one traced call per step;",
            "eagerly, every replica's ops are dispatched from Python; the processes exchange",
            "every step's gradients over gRPC.",
            f"`{measured['model']}`'s step is a handful of tiny ops, so that cost per step is",
            "nearly all there is; a speed-up needs a step that outweighs it and cores or",
            "machines for the replicas to run on.",
        ]
    return lines


def report(
    results: dict,
    models: list[str],
    steps: int,
    have_jax: bool,
    startup: dict[str, float],
    load: tuple[float, float] = (float("nan"), float("nan")),
    checking: dict | None = None,
    replicating: dict | None = None,
    scale: dict | None = None,
) -> str:
    """The whole of BENCHMARKS.md: method, tables, targets and whether each was met."""
    lines = [
        "# Benchmarks",
        "",
        "Written by `python scripts/bench.py --write BENCHMARKS.md`; every number and every",
        '"met" on this page comes from that one run (`pip install ".[bench]"` adds JAX;',
        "without it the JAX rows are skipped with a note).",
        "",
        "## What each time covers",
        "",
        "Every variant, product or floor, is timed from the same start: the problem prepared in",
        "memory (data, initial values and batch order drawn once in NumPy) and its library",
        "imported. The clock covers building the run (graph and Session, engine, tf.function",
        "tracing, XLA or JAX compilation, and the data path: the fused loops' pre-gathered batch",
        "schedule, JAX's device copies of the data), every step, one more forward pass for the",
        "final loss on the whole data (each floor in its own style: a traced or compiled",
        "function where the product's run traces or compiles one), and reading the losses, the",
        "final loss and the final parameters back as NumPy values. So set-up is counted in",
        "every row, and `µs/step` is that whole time divided by the steps.",
        "Each case runs in a fresh subprocess (its `peak MiB`, `ru_maxrss`, is its own), once",
        f"untimed to warm the process, then {REPEATS} times timed; the fastest is reported. Every",
        "case trains the same prepared problem with plain gradient descent (`--optimizer gd`),",
        "so every floor computes the update the product does.",
        "",
        VARIANTS_TEXT,
        "",
        "## Results",
        "",
        f"Machine: {machine()}.",
        f"Steps per run: {steps}. Load average (1 min) when the run started: {load[0]:.2f}, "
        f"when it ended: {load[1]:.2f} (on 2 cores, above about 1 means other work shared them).",
        "",
        "| model | variant | µs/step | peak MiB |",
        "|---|---|---:|---:|",
    ]
    for (model, variant), r in results.items():
        lines.append(f"| {model} | {variant} | {r['us_per_step']:.2f} | {r['peak_mib']:.0f} |")
    lines += [
        "",
        "## Targets",
        "",
        "| model | ratio of µs/step | value | target | met | why |",
        "|---|---|---:|---|---|---|",
    ]
    for target_model, slower, faster, limit, why in TARGETS:
        for model in models if target_model is None else [target_model]:
            if model not in models:
                continue
            if (model, slower) not in results or (model, faster) not in results:
                value, met = "n/a", "not measured"
            else:
                ratio = (
                    results[model, slower]["us_per_step"] / results[model, faster]["us_per_step"]
                )
                value, met = f"{ratio:.2f}", "yes" if ratio <= limit else "**no**"
            lines.append(
                f"| {model} | {slower} / {faster} | {value} | at most {limit:.2f} | {met} | {why} |"
            )
    lines += [
        "",
        "| command (python -m) | wall seconds, best of 3 | target | met |",
        "|---|---:|---|---|",
    ]
    for command, seconds in startup.items():
        met = "yes" if seconds < STARTUP_TARGET_SECONDS else "**no**"
        lines.append(f"| {command} | {seconds:.2f} | under {STARTUP_TARGET_SECONDS} | {met} |")
    lines += [
        "",
        "`--help` and `list` import no TensorFlow "
        "(`tests/test_cli.py::test_help_and_list_do_not_import_tensorflow`).",
        "",
        "Single rows move between runs on this machine: its two cores are shared with whatever",
        f"else runs (the load average above), which the best of {REPEATS} damps but does not",
        "remove.",
    ]
    if checking:
        live, against = checking["live"], checking["against"]
        lines += [
            "",
            "## Checking a migration",
            "",
            f"`tfbridge check {live['file']} --strict`, {live['steps']} steps ({live['verdict']}:",
            "so the noise floor and the ladder run too), against the same file's trainings with",
            "nothing compared (`scripts/bench_check.py`): both timed from the file on disk to the",
            "last style's last step, best of 3, interleaved in one process. Against a recording:",
            "`check --against DIR` against the two ports' bare trainings from the recording.",
            "",
            "| what | bare seconds | checked seconds | ratio | target | met |",
            "|---|---:|---:|---:|---|---|",
        ]
        for label, key, measured in (
            ("check, three styles", "live", live),
            ("check --against, two ports", "against", against),
        ):
            limit = CHECK_TARGETS[key]
            met = "yes" if measured["ratio"] <= limit else "**no**"
            lines.append(
                f"| {label} | {measured['bare_seconds']:.2f} | {measured['check_seconds']:.2f} "
                f"| {measured['ratio']:.2f} | at most {limit:.2f} | {met} |"
            )
    if scale:
        lines += ["", *scale_section(scale)]
    if replicating:
        lines += ["", *replicas_section(replicating)]
    if not have_jax:
        lines += ["", "JAX is not installed: its rows were skipped (`pip install '.[bench]'`)."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
