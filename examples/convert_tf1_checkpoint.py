"""Migration reference: the old TF1 training's checkpoint, loaded into the new Keras 3 port.

    python examples/convert_tf1_checkpoint.py [WORK_DIR]

1. The TF1 code of examples/digits_mlp.py trains a few steps in a Session and saves with a
   `tf.compat.v1.train.Saver`, as the old training job did.
2. `tfbridge convert-checkpoint --migration examples/digits_mlp.py SRC DEST` (here its Python
   form) carries every variable, the Adam slots and the step count into the port's objects.
3. The port restores it with `tf.train.Checkpoint(model=..., optimizer=...)`, as the new
   training job will: every variable equals TF1's saved value.
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
from pathlib import Path

import numpy as np
import tensorflow as tf

HERE = Path(__file__).resolve().parent
MIGRATION = HERE / "digits_mlp.py"


def _migration_module() -> object:
    spec = importlib.util.spec_from_file_location("digits_mlp", MIGRATION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def old_tf1_training(work: Path, steps: int = 5) -> str:
    """The TF1 job: train on the whole data set, save; return the checkpoint's prefix."""
    digits = _migration_module()
    features, labels = digits.data()
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.set_random_seed(1)
        x = tf.compat.v1.placeholder(features.dtype, (None, 64))
        y = tf.compat.v1.placeholder(labels.dtype, (None,))
        _, train_op = digits.tf1_train(x, y)
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(tf.compat.v1.global_variables_initializer())
            for _ in range(steps):
                session.run(train_op, {x: features, y: labels})
            (work / "tf1").mkdir(parents=True, exist_ok=True)
            prefix = saver.save(session, str(work / "tf1" / "model.ckpt"), global_step=steps)
    return prefix


def main(work: Path) -> None:
    from bridge.convert_migration import convert_migration_checkpoint

    prefix = old_tf1_training(work)
    done = convert_migration_checkpoint(MIGRATION, prefix, str(work / "tf2"))
    print(f"converted {done.source} -> {done.destination} ({len(done.rows)} variables)")

    digits = _migration_module()
    model, optimizer = digits.tf2_setup()
    optimizer.build(model.trainable_variables)
    status = tf.train.Checkpoint(model=model, optimizer=optimizer).restore(
        tf.train.latest_checkpoint(str(work / "tf2"))
    )
    status.assert_existing_objects_matched()
    saved = tf.train.load_checkpoint(prefix)
    by_path = {variable.path: variable for variable in model.variables}
    equal = sum(
        np.array_equal(saved.get_tensor(tf1_name), by_path[tf2_name].numpy())
        for tf1_name, tf2_name, *_ in done.rows
    )
    print(
        f"restored into the port: {equal} of {len(done.rows)} variables equal TF1's; "
        f"optimizer at step {int(optimizer.iterations.numpy())}"
    )


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent))
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp()))
