"""What localising a layer costs: `check` of the CNN case with one wrong layer
(tests/localise/cnn_average_pool.py, eager style, --strict) with the localisation and without it
(`check_migration(localise=False)`: the ladder's other rungs still run). Best of `--repeat`
runs each, interleaved, in one process; also the localisation's own time as the check reports it
(the named layer's `seconds`: recording the layers' calls, locating them in TF1's graph, one
TF1 run of their tensors, each layer fed TF1's input).

    python scripts/bench_localise.py [FILE] [--repeat R]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tfmigration.quiet import import_tensorflow_quietly  # noqa: E402

import_tensorflow_quietly()

import keras  # noqa: E402

from bridge.check import check_migration  # noqa: E402

DEFAULT_FILE = ROOT / "tests" / "localise" / "cnn_average_pool.py"


def timed(path: Path, localise: bool) -> tuple[float, float | None]:
    """Seconds for one check, and the localisation's own seconds as the report holds them."""
    keras.backend.clear_session()  # the file's VARIABLE_MAP names Keras's first model
    started = time.perf_counter()
    report = check_migration(path, strict=True, styles=("eager",), localise=localise)
    seconds = time.perf_counter() - started
    layers = [c for f in report.findings for c in f.layers if c.seconds is not None]
    return seconds, (layers[0].seconds if layers else None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=lambda p: Path(p).resolve(), default=DEFAULT_FILE)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    timed(options.file, True)  # warm-up: imports, first traces
    with_layers, without, inside = [], [], []
    for _ in range(options.repeat):
        seconds, own = timed(options.file, True)
        with_layers.append(seconds)
        inside.append(own)
        without.append(timed(options.file, False)[0])
    best_with, best_without = min(with_layers), min(without)
    print(f"file: {options.file.relative_to(ROOT)}, best of {options.repeat}, interleaved")
    print(f"check with the localisation:    {best_with:.2f} s  (runs: {_list(with_layers)})")
    print(f"check without the localisation: {best_without:.2f} s  (runs: {_list(without)})")
    print(f"difference: {best_with - best_without:+.2f} s")
    print(f"the localisation's own seconds (report): {_list(inside)}")


def _list(values: list) -> str:
    return ", ".join("-" if v is None else f"{v:.3f}" for v in values)


if __name__ == "__main__":
    main()
