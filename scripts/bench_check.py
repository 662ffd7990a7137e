"""What checking a migration costs over running its three trainings without comparing them.

Both sides start from the migration file on disk and end when the last style has trained: the
bare side builds the TF1 graph, the eager port and the tf.function port and trains each on the
same batches; the check does the same and also reads every variable after every step, measures
ULPs, and (only when a port is not identical) runs the noise floor and the ladder. Best of
`--repeat` runs each, interleaved, in one process.

    python scripts/bench_check.py [FILE] [--steps N] [--repeat R]
    python scripts/bench_check.py FILE --memory 25 200 [--every K] [--against] --json

`--memory SMALL LARGE` measures peak resident memory instead (`ru_maxrss`, each case in a fresh
subprocess of this script, so each peak is its own): `check` at both step counts, each style's
bare training at the larger, and with `--against` `record --every K` and `check --against` at
both.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tfmigration.quiet import import_tensorflow_quietly  # noqa: E402

import_tensorflow_quietly()

from bridge.check import PORT_STYLES, check_migration  # noqa: E402
from bridge.checking.ports import renamed  # noqa: E402
from bridge.checking.reference import Batches  # noqa: E402
from bridge.function.grappler import grappler_disabled  # noqa: E402
from bridge.function.migration import FunctionPort  # noqa: E402
from eagermode.migration import TF2Port  # noqa: E402
from graphmode.migration import TF1Program  # noqa: E402
from tfmigration.migration.contract import DEFAULT_SEED, batch_indices, load  # noqa: E402
from tfmigration.migration.mapping import infer_mapping  # noqa: E402

DEFAULT_FILE = ROOT / "examples" / "digits_mlp.py"


def bare_trainings(path: Path, steps: int, strict: bool) -> float:
    """Seconds to train TF1, the eager port and the tf.function port, comparing nothing."""
    start = time.perf_counter()
    migration = load(path)
    batch_size = migration.setting("BATCH_SIZE", None)
    batches = Batches(migration, batch_indices(migration.rows, steps, batch_size, DEFAULT_SEED))
    program = TF1Program(migration, strict=strict, seed=DEFAULT_SEED)
    initial = program.snapshot()
    for step in range(steps):
        program.step(*batches(step), step)
    eager = TF2Port(migration)
    pairs = infer_mapping(program.variable_infos(), eager.variable_infos(), migration.variable_map)
    for style in PORT_STYLES:
        port = eager if style == "eager" else FunctionPort(migration)
        port.load({p.tf2.name: initial[p.tf1.name] for p in renamed(pairs, eager, port)})
        with grappler_disabled(strict and style == "function"):
            for step in range(steps):
                port.step(*batches(step), step)
    program.close()
    return time.perf_counter() - start


def bare_ports(path: Path, steps: int, strict: bool, recording: Path) -> float:
    """Seconds to train the eager and the tf.function port from the recorded start, comparing
    nothing: what checking against a recording is measured against."""
    from tfmigration.migration.golden import read_recording

    start = time.perf_counter()
    golden = read_recording(recording)
    migration = load(path)
    batches = Batches(migration, golden.batch_indices)
    eager = TF2Port(migration)
    from tfmigration.migration.mapping import VariableInfo

    infos = [
        VariableInfo(v["name"], tuple(v["shape"]), v["dtype"], v["trainable"], order)
        for order, v in enumerate(golden.manifest["variables"])
    ]
    pairs = infer_mapping(infos, eager.variable_infos(), migration.variable_map)
    for style in PORT_STYLES:
        port = eager if style == "eager" else FunctionPort(migration)
        port.load({p.tf2.name: golden.initial[p.tf1.name] for p in renamed(pairs, eager, port)})
        with grappler_disabled(strict and style == "function"):
            for step in range(steps):
                port.step(*batches(step), step)
    return time.perf_counter() - start


def checked_against(path: Path, steps: int, strict: bool, recording: Path) -> float:
    start = time.perf_counter()
    check_migration(path, steps=steps, strict=strict, against=recording)
    return time.perf_counter() - start


def measure_against(path: Path, steps: int, repeat: int, strict: bool = True) -> dict[str, object]:
    """Checking against a recording (made first, untimed) against the two bare port runs."""
    from bridge.record import record_migration

    with tempfile.TemporaryDirectory() as folder:
        recording = Path(folder) / "recording"
        record_migration(path, recording, steps=steps, strict=strict)
        bare, check = [], []
        for _ in range(repeat):
            bare.append(bare_ports(path, steps, strict, recording))
            check.append(checked_against(path, steps, strict, recording))
    return {
        "bare_seconds": min(bare),
        "check_seconds": min(check),
        "ratio": min(check) / min(bare),
    }


def checked(path: Path, steps: int, strict: bool) -> tuple[float, str]:
    start = time.perf_counter()
    report = check_migration(path, steps=steps, strict=strict)
    return time.perf_counter() - start, report.verdict


def measure(path: Path, steps: int, repeat: int, strict: bool = True) -> dict[str, object]:
    bare, check = [], []
    verdict = ""
    for _ in range(repeat):
        bare.append(bare_trainings(path, steps, strict))
        seconds, verdict = checked(path, steps, strict)
        check.append(seconds)
    return {
        "file": str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path),
        "steps": steps,
        "verdict": verdict,
        "bare_seconds": min(bare),
        "check_seconds": min(check),
        "ratio": min(check) / min(bare),
    }


BARE_STYLES = ("graph", "eager", "function")


def bare_style(path: Path, steps: int, strict: bool, style: str) -> None:
    """One style's training alone, from its own initial values: what its memory is measured on."""
    migration = load(path)
    batch_size = migration.setting("BATCH_SIZE", None)
    batches = Batches(migration, batch_indices(migration.rows, steps, batch_size, DEFAULT_SEED))
    if style == "graph":
        program = TF1Program(migration, strict=strict, seed=DEFAULT_SEED)
        for step in range(steps):
            program.step(*batches(step), step)
        program.close()
        return
    port = TF2Port(migration) if style == "eager" else FunctionPort(migration)
    with grappler_disabled(strict and style == "function"):
        for step in range(steps):
            port.step(*batches(step), step)


def peak_case(case: str, path: Path, steps: int, recording: str | None, every: int) -> dict:
    """Run one memory case in this process: `check`, `record` (to `recording`), `against`
    (`recording`) or one bare style; its seconds and this process's peak resident memory."""
    from bridge.record import record_migration

    start = time.perf_counter()
    verdict = None
    if case == "check":
        verdict = check_migration(path, steps=steps, strict=True).verdict
    elif case == "record":
        record_migration(path, recording, steps=steps, strict=True, every=every)
    elif case == "against":
        verdict = check_migration(path, steps=steps, strict=True, against=recording).verdict
    else:
        bare_style(path, steps, True, case)
    return {
        "case": case,
        "steps": steps,
        "seconds": time.perf_counter() - start,
        "verdict": verdict,
        # ru_maxrss is in KiB on Linux.
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def peak(case: str, path: Path, steps: int, recording: Path | None = None, every: int = 1) -> dict:
    """`peak_case` in a fresh subprocess of this script, so that its peak is its own."""
    command = [sys.executable, __file__, str(path), "--peak-case", case, "--steps", str(steps)]
    command += ["--every", str(every)] + (["--recording", str(recording)] if recording else [])
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{case} on {path.name} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure_memory(
    path: Path, small: int, large: int, *, against: bool = False, every: int = 1
) -> dict[str, object]:
    """Peak memory of `check` at `small` and `large` steps, of each bare style at `large`, and
    with `against` of recording and of checking against the recording at both."""
    cases = [peak("check", path, small), peak("check", path, large)]
    cases += [peak(style, path, large) for style in BARE_STYLES]
    # A recording of each length, checked whole (a shorter check of a longer recording has no
    # noise floor for its last step, so its verdict would not be the one measured live).
    for steps in (small, large) if against else ():
        with tempfile.TemporaryDirectory() as folder:
            recording = Path(folder) / "recording"
            cases.append(peak("record", path, steps, recording, every))
            cases.append(peak("against", path, steps, recording))
    return {
        "file": str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path),
        "small": small,
        "large": large,
        "every": every,
        "cases": cases,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="Print both measures as JSON.")
    parser.add_argument(
        "--memory",
        nargs=2,
        type=int,
        metavar=("SMALL", "LARGE"),
        help="Measure peak memory at two step counts instead of time (one subprocess a case).",
    )
    parser.add_argument(
        "--against", action="store_true", help="With --memory: record, then check --against."
    )
    parser.add_argument(
        "--every", type=int, default=1, help="With --against: record every K-th step's values."
    )
    parser.add_argument(
        "--live-only", action="store_true", help="With --json: time the live check only."
    )
    parser.add_argument("--peak-case", help=argparse.SUPPRESS)
    parser.add_argument("--recording", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peak_case:
        result = peak_case(
            args.peak_case, args.file.resolve(), args.steps, args.recording, args.every
        )
        print(json.dumps(result))
        return
    if args.memory:
        small, large = args.memory
        print(
            json.dumps(
                measure_memory(
                    args.file.resolve(), small, large, against=args.against, every=args.every
                )
            )
        )
        return
    result = measure(args.file.resolve(), args.steps, args.repeat)
    if args.json and args.live_only:
        print(json.dumps({"live": result}))
        return
    if args.json:
        against = measure_against(args.file.resolve(), args.steps, args.repeat)
        print(json.dumps({"live": result, "against": against}))
        return
    print(
        f"{result['file']}, {result['steps']} steps ({result['verdict']}): three trainings "
        f"{result['bare_seconds']:.2f} s, checked {result['check_seconds']:.2f} s, "
        f"ratio {result['ratio']:.2f} (target <= 1.20)"
    )
    against = measure_against(args.file.resolve(), args.steps, args.repeat)
    print(
        f"against a recording: two port trainings {against['bare_seconds']:.2f} s, checked "
        f"{against['check_seconds']:.2f} s, ratio {against['ratio']:.2f} (target <= 1.10)"
    )


if __name__ == "__main__":
    main()
