"""`tfbridge check FILE --inference SRC`: a trained TF1 model's predictions against the port's.

No training. SRC (a Saver checkpoint, a frozen GraphDef or a TF1 SavedModel) is loaded into
FILE's TF1 graph; its values cross to the port through check's variable pairing; then, on
FILE's data in consecutive batches, TF1's output tensor is held against the port's:

    TF1_OUTPUT = "logits:0"               # a tensor of the graph tf1_train builds
    def tf2_predict(state, features):     # -> the port's tensor standing for it

Without them the loss is compared: TF1's loss tensor against `tf2_loss(state, features,
labels)`. Then the port is exported for serving (`tf.saved_model.save` of the state with the
prediction as its `serving_default` signature), loaded back with `tf.saved_model.load`, and its
signature's outputs are held against TF1's too: the model a server will run, not only the
Python object.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from bridge.check import pair_variables
from bridge.checking.layers import localise, recording
from bridge.checking.ports import align
from bridge.compare import DEFAULT_TOLERANCE_ULPS
from eagermode.migration import TF2Port
from graphmode.migration import TF1Program
from graphmode.sources import load_source, read_source
from tfmigration.measure.inference_report import InferenceReport, compare_outputs
from tfmigration.measure.migration_report import Finding
from tfmigration.measure.ulp import normwise_ulp_distance
from tfmigration.migration.contract import ContractError, MigrationFile, call_user, load

OPTION = "--inference"
NEEDS = (
    "define TF1_OUTPUT = '<a tensor of the TF1 graph, e.g. logits:0>' and "
    "tf2_predict(state, features) -> the port's tensor for it; or tf2_loss(state, features, "
    "labels) to compare the loss"
)


def check_inference(
    path: str | Path,
    source: str | Path,
    *,
    batch_size: int | None = None,
    tolerance_ulps: int = DEFAULT_TOLERANCE_ULPS,
    strict: bool = False,
    on_style: Callable[[str], None] | None = None,
) -> InferenceReport:
    """TF1 restored from `source` against the port given its values, on FILE's data."""
    announce = on_style or (lambda style: None)
    tf1_source = read_source(source, option=OPTION)
    migration = load(path)
    tf1_output, port_function, port_name = _outputs(migration)
    size = batch_size or migration.setting("BATCH_SIZE", None) or migration.rows
    slices = [slice(start, start + size) for start in range(0, migration.rows, size)]
    program = TF1Program(migration, strict=strict)
    try:
        # TF1's recurrent cells: a port's Keras LSTM/GRU is paired in their layout.
        port = TF2Port(migration, program.rnn_cells)
        pairs = pair_variables(migration, program.variable_infos(), port)
        load_source(program, tf1_source, option=OPTION)
        align(port, pairs, program.snapshot())
        tensor = _tf1_tensor(program, migration, tf1_output)
        announce("graph")
        tf1_outputs = [
            program.intermediates(
                {"output": tensor.name}, migration.features[rows], migration.labels[rows], 0
            )["output"]
            for rows in slices
        ]
        names = (tensor.name, port_name)
        wants_labels = port_function is None
        function = port_function or migration.function("tf2_loss")

        announce("eager")
        started = time.perf_counter()
        eager = [
            _checked(
                migration,
                port_name,
                batch,
                expected,
                _call(migration, function, port, rows, wants_labels),
            )
            for batch, (rows, expected) in enumerate(zip(slices, tf1_outputs, strict=True))
        ]
        eager_seconds = time.perf_counter() - started
        layer = _first_differing_layer(
            migration,
            program,
            port,
            pairs,
            (function, wants_labels),
            slices,
            tf1_outputs,
            eager,
            tolerance_ulps,
        )
    finally:
        program.close()

    announce("serving")
    started = time.perf_counter()
    served = _served(migration, port, function, slices, wants_labels)
    serving = [
        _checked(migration, "the serving signature", batch, expected, value)
        for batch, (expected, value) in enumerate(zip(tf1_outputs, served, strict=True))
    ]
    serving_seconds = time.perf_counter() - started
    return InferenceReport(
        model=migration.name,
        path=str(migration.path),
        source=tf1_source.path,
        source_kind=tf1_source.kind,
        tf1_output=tensor.name,
        port_output=port_name,
        batch_size=size if size < migration.rows else None,
        batch_rows=tuple(len(migration.features[rows]) for rows in slices),
        tolerance_ulps=tolerance_ulps,
        strict=strict,
        results=(
            compare_outputs("eager", tf1_outputs, eager, names, eager_seconds),
            compare_outputs("serving", tf1_outputs, serving, names, serving_seconds),
        ),
        variable_map=tuple((p.tf1.name, p.tf2.name, p.how) for p in pairs),
        notes=tuple(migration.adjustments),
        layer=layer,
    )


def _first_differing_layer(
    migration: MigrationFile,
    program: TF1Program,
    port: TF2Port,
    pairs: list,
    call: tuple[Callable[..., Any], bool],
    slices: list[slice],
    tf1_outputs: list[np.ndarray],
    eager: list[np.ndarray],
    tolerance_ulps: int,
) -> Finding | None:
    """Check's first-differing-layer report on the first batch whose outputs differ beyond
    the tolerance: the port called again on it with its layers recorded, each layer's output
    held against the TF1 tensor that plays its part, and each fed TF1's own input."""
    batch = next(
        (
            index
            for index, (tf1, port_output) in enumerate(zip(tf1_outputs, eager, strict=True))
            if normwise_ulp_distance(port_output, tf1) > tolerance_ulps
        ),
        None,
    )
    features = migration.features
    # Layers are located from one input array (as check does): several inputs are not yet.
    if batch is None or not isinstance(features, np.ndarray):
        return None
    rows = slices[batch]
    with recording(port) as recorded:
        _call(migration, call[0], port, rows, call[1])
    findings = localise(
        recorded,
        port,
        program,
        pairs,
        program.snapshot(),
        features[rows],
        migration.labels[rows],
        0,
    )
    if not findings:
        return None
    return dataclasses.replace(findings[0], step=batch)


def _outputs(migration: MigrationFile) -> tuple[str | None, Callable[..., Any] | None, str]:
    """(TF1_OUTPUT or None for the loss, tf2_predict or None for tf2_loss, the port's name)."""
    name = getattr(migration.module, "TF1_OUTPUT", None)
    predict = migration.optional("tf2_predict")
    where = f"{migration.path}: --inference"
    if name is not None and not isinstance(name, str):
        raise ContractError(
            f"{migration.path}: TF1_OUTPUT = {name!r} must be a tensor name string, e.g. 'logits:0'"
        )
    if name is not None and predict is None:
        raise ContractError(f"{where}: TF1_OUTPUT is set but tf2_predict() is not; {NEEDS}")
    if predict is not None and name is None:
        raise ContractError(f"{where}: tf2_predict() is defined but TF1_OUTPUT is not; {NEEDS}")
    if name is not None:
        return name, predict, "tf2_predict()"
    if migration.optional("tf2_loss") is None:
        raise ContractError(f"{where} needs the outputs named on both sides: {NEEDS}")
    return None, None, "tf2_loss()"


def _tf1_tensor(program: TF1Program, migration: MigrationFile, name: str | None) -> tf.Tensor:
    if name is None:
        return program.loss
    try:
        tensor = program.graph.get_tensor_by_name(name)
    except (KeyError, ValueError) as error:
        raise ContractError(
            f"{migration.path}: TF1_OUTPUT = {name!r} names no tensor of the TF1 graph "
            f"({str(error).splitlines()[0]})"
        ) from None
    if not tensor.dtype.is_floating:
        raise ContractError(
            f"{migration.path}: TF1_OUTPUT = {name!r} is {tensor.dtype.name}; name a float tensor"
        )
    return tensor


def _call(
    migration: MigrationFile,
    function: Callable[..., Any],
    port: TF2Port,
    rows: slice,
    wants_labels: bool,
) -> Any:
    features = tf.convert_to_tensor(migration.features[rows])
    if not wants_labels:
        return call_user(migration.path, function, port.state, features)
    labels = tf.convert_to_tensor(migration.labels[rows])
    return call_user(migration.path, function, port.state, features, labels)


def _checked(
    migration: MigrationFile, what: str, batch: int, expected: np.ndarray, value: Any
) -> np.ndarray:
    """The port's output as an array of TF1's shape and dtype, or a contract error naming both."""
    try:
        array = np.asarray(value.numpy() if hasattr(value, "numpy") else value)
    except (TypeError, ValueError):
        raise ContractError(
            f"{migration.path}: {what} must return a tensor; it returned {type(value).__name__}"
        ) from None
    expected = np.asarray(expected)
    if array.shape != expected.shape or array.dtype != expected.dtype:
        raise ContractError(
            f"{migration.path}: {what} returned {array.dtype} {list(array.shape)} on batch "
            f"{batch}, where TF1's output is {expected.dtype} {list(expected.shape)}"
        )
    return array


class _Serving(tf.Module):
    """The port's state with its prediction as a serving function, as a server would load it."""

    def __init__(self, models: list[Any]) -> None:
        super().__init__(name="tfbridge_serving")
        # The models only: their variables are what the signature reads; the optimizers are not
        # served (and Keras's are no business of a server).
        self.models = models


def _served(
    migration: MigrationFile,
    port: TF2Port,
    function: Callable[..., Any],
    slices: list[slice],
    wants_labels: bool,
) -> list[np.ndarray]:
    """Export the port (`tf.saved_model.save`), load it back, and run its signature per batch."""
    module = _Serving(list(port.models))
    features = tf.TensorSpec(
        (None, *migration.features.shape[1:]), migration.features.dtype, name="features"
    )
    labels = tf.TensorSpec(
        (None, *migration.labels.shape[1:]), migration.labels.dtype, name="labels"
    )
    if wants_labels:

        def serve_loss(features: tf.Tensor, labels: tf.Tensor) -> dict[str, tf.Tensor]:
            return {"output": function(port.state, features, labels)}

        serve = tf.function(serve_loss, input_signature=[features, labels])
    else:

        def serve_predict(features: tf.Tensor) -> dict[str, tf.Tensor]:
            return {"output": function(port.state, features)}

        serve = tf.function(serve_predict, input_signature=[features])
    with tempfile.TemporaryDirectory(prefix="tfbridge-serving-") as folder:
        call_user(
            migration.path,
            tf.saved_model.save,
            module,
            folder,
            {"serving_default": serve},
            what=f"exporting {function.__name__}() for serving (tf.saved_model.save)",
        )
        signature = tf.saved_model.load(folder).signatures["serving_default"]
        outputs = []
        for rows in slices:
            inputs = {"features": tf.constant(migration.features[rows])}
            if wants_labels:
                inputs["labels"] = tf.constant(migration.labels[rows])
            outputs.append(signature(**inputs)["output"].numpy())
    return outputs
