"""The TF1/TF2 autodiff differences a migrating user trips on, as data (docs/catalog.md, `grad`).

Each difference is shown by running a few small cases in every style where it means something;
a style reports, per case, what happened as one printable line (a value, `None`, or the error
TensorFlow raised). The cases are listed here, in print order, so the styles line up side by
side; a style leaves out the cases that do not exist in it (graph mode has no tape to watch).
Nothing here imports TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tfmigration.catalog.errors import ConfigError

Observations = dict[str, str]  # case -> what happened, one line


LOSS_SCALING_CASES = (
    "one device: mean of the whole batch",
    "compute_average_loss, global_batch_size=3 (the batch's rows)",
    "compute_average_loss, default global batch (shard rows x replicas)",
    "Keras 3 loss: per-replica mean x 1/replicas",
    "TF1 workers: each its own mean, averaged (SyncReplicasOptimizer)",
    "per-replica mean, unscaled (scaling forgotten)",
    "even batch: compute_average_loss, default global batch",
    "even batch: per-replica mean, unscaled (loss x replicas)",
)


@dataclass(frozen=True)
class Difference:
    name: str
    title: str
    cases: tuple[str, ...]
    lesson: str


DIFFERENCES: dict[str, Difference] = {
    difference.name: difference
    for difference in (
        Difference(
            name="one-shot-tape",
            title="one-shot vs persistent tape (x = Variable(3.0), y = x^2, dy/dx twice)",
            cases=("first gradient", "second gradient", "second gradient, persistent=True"),
            lesson=(
                "A tape frees its recording after one gradient() call unless it is persistent; "
                "a graph keeps its ops, so tf.gradients can be called on it again and again."
            ),
        ),
        Difference(
            name="watched",
            title="what gets differentiated (y = x^2 at x = 3.0, dy/dx)",
            cases=(
                "x = Variable(3.0)",
                "x = Variable(3.0, trainable=False)",
                "x = Variable(3.0, trainable=False), tape.watch(x)",
                "x = Variable(3.0), watch_accessed_variables=False",
                "x = Variable(3.0), watch_accessed_variables=False, tape.watch(x)",
                "x = constant(3.0)",
                "x = constant(3.0), tape.watch(x)",
            ),
            lesson=(
                "A tape watches trainable Variables it sees used, and nothing else unless "
                "tape.watch is called; tf.gradients differentiates with respect to any tensor, "
                "non-trainable Variables included."
            ),
        ),
        Difference(
            name="unconnected",
            title="unconnected sources (a = Variable(3.0), b = Variable(4.0), y = a^2)",
            cases=("dy/da", "dy/db", "dy/db, unconnected_gradients=ZERO"),
            lesson=(
                "A source y does not depend on gets None, in both APIs; ask for zeros with "
                "unconnected_gradients (tf.UnconnectedGradients.ZERO or 'zero')."
            ),
        ),
        Difference(
            name="stop-gradient",
            title="tf.stop_gradient (x = Variable(3.0))",
            cases=(
                "y = x * x: y, dy/dx",
                "y = x * stop_gradient(x): y, dy/dx",
                "y = stop_gradient(x * x): y, dy/dx",
            ),
            lesson=(
                "stop_gradient passes its value through and blocks its gradient, the same in "
                "both APIs; when everything is blocked the source is unconnected: None."
            ),
        ),
        Difference(
            name="jacobian",
            title="gradient vs Jacobian of a vector (x = constant([1.0, 2.0]), y = [x0*x1, x0+x1])",
            cases=("gradient of y", "Jacobian dy/dx"),
            lesson=(
                "Both gradient APIs sum over the elements of a non-scalar target (column sums of "
                "the Jacobian). TF2 has tape.jacobian; TF1 builds it row by row with tf.gradients."
            ),
        ),
        Difference(
            name="variables",
            title="Variables: dtypes, the trainable flag, assign ops, Variable vs Tensor",
            cases=(
                "Variable(1).dtype",
                "Variable(1.0).dtype",
                "Variable(np.array([1.0])).dtype",
                "Variable(1.0).trainable",
                "Variable(1.0, trainable=False).trainable",
                "x = Variable(3.0); x.assign(5.0)",
                "x = Variable(3.0); x.assign_add(1.0)",
                "x = Variable(3.0); x.assign_sub(1.0)",
                "type(x)",
                "type(x * 1.0)",
                "isinstance(x, tf.Variable)",
                "isinstance(x, tf.Tensor)",
                "tf.is_tensor(x)",
            ),
            lesson=(
                "Python int gives int32, Python float float32, NumPy float64 stays float64. "
                "In a graph an assign is an op that changes nothing until Session.run runs it; "
                "in eager it happens at once (and in a tf.function, when the function runs). "
                "A Variable is not a tf.Tensor, though tf.is_tensor accepts both."
            ),
        ),
        Difference(
            name="ref-read-order",
            title=(
                "a loss fetched with its own update (v = Variable(1.9), loss = v * v, "
                "update = v.assign(v - 0.1 * dloss/dv), run [loss, update]; "
                "1.9^2 = 3.61, after the update 1.52^2 = 2.3104)"
            ),
            cases=(
                "RefVariable (use_resource=False, TF1's default)",
                "RefVariable, update under control_dependencies([loss])",
                "ResourceVariable (use_resource=True, TF2's)",
                "tf.Variable: loss, then update",
            ),
            lesson=(
                "A TF1 RefVariable is read when the op using it runs, not in program order: the "
                "loss fetched with its update can see the updated value, depending on the "
                "scheduler (graphs run with Grappler off here). Order the update after the loss "
                "with control_dependencies, as graph style's engine does, or use resource "
                "variables; eager and tf.function run in program order."
            ),
        ),
        Difference(
            name="loss-scaling",
            title=(
                "loss scaling over 2 replicas: an uneven last batch of 3 rows, per-example losses "
                "[1, 2] | [3] (true mean 2), and an even batch [1, 2] | [3, 4] (true mean 2.5)"
            ),
            cases=LOSS_SCALING_CASES,
            lesson=(
                "Replica losses are summed, and so are their gradients. tf.nn.compute_average_loss "
                "divides each replica's summed loss by the global batch: exact when given the "
                "batch's real size, but its default (shard rows x replicas) overweights the short "
                "shard of an uneven last batch, as does Keras 3's per-replica mean x 1/replicas "
                "(and TF1 workers' means averaged by SyncReplicasOptimizer). A per-replica mean "
                "left unscaled multiplies the loss and the gradients by the replica count."
            ),
        ),
    )
}

# The loss-scaling difference's data: per-example losses, split between two replicas.
LOSS_SCALING_UNEVEN = ((1.0, 2.0), (3.0,))
LOSS_SCALING_EVEN = ((1.0, 2.0), (3.0, 4.0))


def get_difference(name: str) -> Difference:
    try:
        return DIFFERENCES[name]
    except KeyError:
        raise ConfigError(
            f"unknown difference {name!r}; choose one of: {', '.join(DIFFERENCES)}"
        ) from None


def show(value: Any) -> str:
    """One value as printed in a table: `None`, a number, a nested list, or text."""
    if value is None:
        return "None"
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return "[" + ", ".join(show(item) for item in value) + "]"
    return _nested(np.asarray(value))


def _nested(array: np.ndarray) -> str:
    if array.ndim == 0:
        item = array[()]
        return item.decode() if isinstance(item, bytes) else str(item)
    return "[" + ", ".join(_nested(row) for row in array) + "]"


def error_text(error: BaseException) -> str:
    """TensorFlow's own error in one line: its type and the message's last line.

    tf.function wraps an error raised while tracing in a traceback of the user's code; the
    original message is its last line.
    """
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    message = lines[-1] if lines else ""
    kind = type(error).__name__
    return f"{kind}: {message.removeprefix(kind + ': ')}"
