"""Migration reference, the counter-example: examples/digits_mlp.py's TF1 model against the port
people write first, with three mistakes that all look like harmless renames.

Check it with:

    tfbridge check examples/digits_mlp_naive_port.py --strict

and compare with examples/digits_mlp.py, the faithful port of the same TF1 code. The mistakes:

1. `keras.layers.BatchNormalization()` with its default `momentum=0.99`, where the TF1 code
   used `decay=0.9`: the moving statistics move ten times slower. Training-mode outputs don't
   depend on them, so losses and gradients agree; only the moving-statistic update differs.
2. `keras.optimizers.Adam(learning_rate)` with Keras's default `epsilon=1e-7`, where TF1's
   AdamOptimizer defaults to 1e-8: the first optimizer update already differs.
3. The L2 regularisation dropped: TF1 added it through the REGULARIZATION_LOSSES collection
   (`get_variable(regularizer=...)` plus `get_regularization_loss()`), a side channel that a
   port written from the layer calls alone never sees. The loss differs from the first step.

The TF1 half is not copied: it is examples/digits_mlp.py's own `data` and `tf1_train`, loaded by
path (the checker loads migration files by path too, so a plain `import digits_mlp` would depend
on the working directory).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import keras

# --------------------------------------------------------------------------------------------
# TF1: shared with the faithful example.
# --------------------------------------------------------------------------------------------


def _load_faithful_example() -> ModuleType:
    path = Path(__file__).resolve().with_name("digits_mlp.py")
    spec = importlib.util.spec_from_file_location("_digits_mlp_faithful", path)
    if spec is None or spec.loader is None:  # only if the file is missing or unreadable
        raise ImportError(f"cannot load the TF1 model from {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_faithful = _load_faithful_example()

data = _faithful.data
tf1_train = _faithful.tf1_train
# The same training step: the mistakes are all in how the port is set up, none in the step.
tf2_train_step = _faithful.tf2_train_step
BATCH_SIZE = _faithful.BATCH_SIZE
STEPS = _faithful.STEPS


# --------------------------------------------------------------------------------------------
# TF2: the naive port.
# --------------------------------------------------------------------------------------------


def tf2_setup() -> tuple[keras.Model, keras.optimizers.Optimizer]:
    """The port as first written: the right layers, the library's defaults, no regulariser."""
    layers: list[keras.layers.Layer] = [keras.Input(shape=(64,))]
    for index, width in enumerate(_faithful.HIDDEN_WIDTHS, start=1):
        layers += [
            # Mistake 3: no kernel_regularizer, so model.losses is empty.
            keras.layers.Dense(width, use_bias=False, name=f"hidden{index}"),
            # Mistake 1: momentum left at Keras's 0.99 (TF1's decay was 0.9). The epsilon
            # default, 1e-3, happens to be the TF1 code's value.
            keras.layers.BatchNormalization(name=f"hidden{index}_batch_norm"),
            keras.layers.ReLU(name=f"hidden{index}_relu"),
            keras.layers.Dropout(rate=1 - _faithful.KEEP_PROB, name=f"hidden{index}_dropout"),
        ]
    layers.append(keras.layers.Dense(_faithful.CLASSES, name="logits"))
    model = keras.Sequential(layers, name="digits_mlp")
    # Mistake 2: epsilon left at Keras's 1e-7 (TF1's AdamOptimizer: 1e-8). The betas' defaults
    # (0.9, 0.999) are the same in both libraries.
    optimizer = keras.optimizers.Adam(learning_rate=_faithful.LEARNING_RATE)
    return model, optimizer
