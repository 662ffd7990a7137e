"""MultiWorkerMirroredStrategy under tf.function: eagermode.multi_worker's task program, with
the replicated step traced (bridge.function.distributed)."""

from __future__ import annotations

import sys

from eagermode.multi_worker import run_worker
from tfmigration.cluster import task_main

MODULE = "bridge.function.multi_worker"


def main(argv: list[str]) -> None:
    with task_main(argv[0]) as spec:
        from bridge.function.distributed import MirroredFunctionEngine

        run_worker(spec, MirroredFunctionEngine)


if __name__ == "__main__":
    main(sys.argv[1:])
