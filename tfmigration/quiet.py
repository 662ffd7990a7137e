"""Importing TensorFlow without its start-up noise on the user's terminal."""

from __future__ import annotations

import os
import sys
import tempfile


def import_tensorflow_quietly(*, onednn: bool = True) -> None:
    """Import TensorFlow with its C++ start-up logging kept off the terminal.

    `onednn=False` (strict mode) turns oneDNN's custom CPU kernels off. TensorFlow reads
    TF_ENABLE_ONEDNN_OPTS once, at import, so this works only before the first import; the
    command lines import TensorFlow here and nowhere earlier. Measured: oneDNN moves a float32
    matmul model (`linear` on 8 feature columns) by a few ULPs, alike in every style.

    TF_CPP_MIN_LOG_LEVEL hides runtime logs, but TensorFlow 2.21 prints its oneDNN and CUDA
    notes before absl's logging is initialised, where that variable is not read yet; so standard
    error is redirected at the descriptor level for the import alone, and replayed if it fails.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "tensorflow" in sys.modules:
        return
    if not onednn:
        os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    # Every run builds its own tf.functions on purpose (one engine per run), which TensorFlow's
    # retracing heuristic would report as a warning after a few runs in one process.
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
