"""Where the forward pass parts, found without help: each port layer's output against the TF1
tensor that plays its part, and the first layer that differs when fed TF1's own input.

The port's layers are recorded while the ladder reruns its step (`recording`); TF1's tensor for
each is found in TF1's graph through the variables the layer owns (paired by the check): the ops
that read them, forward to the op whose shape is the layer's output (a Dense's MatMul -> BiasAdd
-> activation). Layers without variables (pooling, flatten, dropout) between two located ones
are placed by shape along the path that joins them. As coremltools' find_failing_ops puts it, a
layer is a failure source if it fails while its direct inputs do not: so each layer is also fed
TF1's value of its input, and the first whose output then differs is named, with the setting
that differs where the layer is a known one (pooling kind, padding, strides, activation, dropout
rate, batch-norm epsilon, an LSTM's forget bias).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from tensorflow.python.framework import tensor_util

from eagermode.migration import TF2Port
from graphmode.migration import TF1Program
from tfmigration.measure.layer_report import LayerComparison
from tfmigration.measure.migration_report import Finding
from tfmigration.measure.ulp import normwise_ulp_distance, relative_error
from tfmigration.migration.contract import flat_inputs
from tfmigration.migration.mapping import Pair

# Ops that carry a Dense or convolution on to its output: the bias, then one activation.
_BIAS_OPS = frozenset({"BiasAdd", "Add", "AddV2"})
ACTIVATIONS = {
    "Relu": "relu",
    "Relu6": "relu6",
    "Elu": "elu",
    "Selu": "selu",
    "Tanh": "tanh",
    "Sigmoid": "sigmoid",
    "Softplus": "softplus",
    "Softsign": "softsign",
    "LeakyRelu": "leaky_relu",
    "Softmax": "softmax",
}
_READS = frozenset({"ReadVariableOp", "Identity"})
_CONVOLUTIONS = frozenset({"Conv2D", "Conv1D", "Conv3D", "DepthwiseConv2dNative"})
_POOLS = {"MaxPool": "max", "MaxPoolV2": "max", "AvgPool": "average", "MaxPool3D": "max"}
# A layer fed TF1's input whose output is further than this from TF1's is the cause, ahead of
# any earlier layer that differs only by rounding (a different kernel's summation order).
_REAL_RELATIVE = 1e-5


@dataclass
class _Call:
    """One call of a port layer in the recorded step, in the order calls finished."""

    unit: _Unit
    inputs: Any
    output: Any
    dropout_index: int
    training: Any


@dataclass
class _Unit:
    """A port layer the localisation follows: a Keras leaf layer (an RNN or Bidirectional whole),
    or a tf.Module with a __call__; the port variable names it owns itself."""

    name: str
    obj: Any
    variables: list[str]
    calls: list[_Call] = field(default_factory=list)


@dataclass
class Recorded:
    """The port's layer calls during one step."""

    units: list[_Unit]
    calls: list[_Call] = field(default_factory=list)
    seconds: float = 0.0


def _tf_variable(variable: Any) -> Any:
    return variable if isinstance(variable, tf.Variable) else getattr(variable, "value", variable)


def _units(port: TF2Port) -> list[_Unit]:
    # A Keras LSTM/GRU paired in the layout of TF1's cell is seen through views
    # (eagermode/rnn_layouts.py `LayoutView`): the layer owns the views its variables feed.
    ids: dict[int, list[str]] = {}
    for name, variable in port.variables.items():
        for part in getattr(variable, "sources", [variable]):
            ids.setdefault(id(_tf_variable(part)), []).append(name)

    def names(variables: Sequence[Any]) -> list[str]:
        owned = (name for v in variables for name in ids.get(id(_tf_variable(v)), []))
        return list(dict.fromkeys(owned))

    units: list[_Unit] = []
    seen: set[int] = set()

    def keras_units(layer: keras.layers.Layer, where: str = "") -> None:
        if id(layer) in seen or isinstance(layer, keras.layers.InputLayer):
            return
        seen.add(id(layer))
        inner = list(layer._flatten_layers(include_self=False, recursive=False))
        whole = isinstance(layer, keras.layers.RNN | keras.layers.Bidirectional)
        if not inner or whole:
            units.append(_Unit(f"{where}{layer.name}", layer, names(layer.variables)))
            return
        for sublayer in inner:
            keras_units(sublayer, f"{where}{layer.name}/")

    def module_units(module: tf.Module, path: str) -> None:
        if id(module) in seen:
            return
        seen.add(id(module))
        children = [
            (key, value)
            for key, value in sorted(vars(module).items())
            if isinstance(value, tf.Module | keras.layers.Layer)
        ]
        inner = {id(_tf_variable(v)) for _, child in children for v in child.variables}
        if callable(module):
            own = [v for v in module.variables if id(_tf_variable(v)) not in inner]
            units.append(_Unit(path, module, names(own)))
        for key, child in children:
            if isinstance(child, keras.layers.Layer):
                keras_units(child, f"{path}/")
            else:
                module_units(child, f"{path}/{key.lstrip('_')}")

    for model in port.models:
        if isinstance(model, keras.layers.Layer):
            keras_units(model)
        elif isinstance(model, tf.Module):
            module_units(model, model.name)
    return units


def _first_tensor(value: Any) -> Any:
    while isinstance(value, list | tuple) and value:
        value = value[0]
    if isinstance(value, dict) and value:
        value = next(iter(value.values()))
    return value


@contextlib.contextmanager
def recording(port: TF2Port) -> Iterator[Recorded]:
    """Record every call of the port's layers (their inputs and outputs) while active: Keras
    layers through Layer.__call__, tf.Modules through their class's __call__, put back after."""
    started = time.perf_counter()
    units = _units(port)
    recorded = Recorded(units)
    by_id = {id(unit.obj): unit for unit in units}
    patched: list[tuple[type, Any]] = []

    def wrap(original: Any) -> Any:
        def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            unit = by_id.get(id(self))
            if unit is None or not args:
                return original(self, *args, **kwargs)
            index = port.dropout.calls
            output = original(self, *args, **kwargs)
            record = _Call(unit, args[0], output, index, kwargs.get("training"))
            unit.calls.append(record)
            recorded.calls.append(record)
            return output

        return call

    classes = (
        [keras.layers.Layer] if any(isinstance(u.obj, keras.layers.Layer) for u in units) else []
    )
    for unit in units:
        kind = type(unit.obj)
        if not isinstance(unit.obj, keras.layers.Layer) and kind not in classes:
            classes.append(kind)
    for kind in classes:
        patched.append((kind, kind.__dict__.get("__call__")))
        kind.__call__ = wrap(kind.__call__)
    recorded.seconds = time.perf_counter() - started
    try:
        yield recorded
    finally:
        for kind, original in reversed(patched):
            if original is None:
                del kind.__call__
            else:
                kind.__call__ = original


# ---- TF1's graph ------------------------------------------------------------------------------


class _Graph:
    """TF1's forward ops (the loss's ancestors) in creation order, and who reads what."""

    def __init__(self, program: TF1Program) -> None:
        self.program = program
        self.graph = program.graph
        forward: set[tf.Operation] = set()
        stack = [program.loss.op]
        while stack:
            op = stack.pop()
            if op in forward:
                continue
            forward.add(op)
            stack.extend(t.op for t in op.inputs)
        self.forward = forward

    def consumers(self, tensor: tf.Tensor) -> list[tf.Operation]:
        return sorted((c for c in tensor.consumers() if c in self.forward), key=lambda o: o._id)

    def readers(self, tf1_name: str) -> list[tf.Operation]:
        """The forward ops that read the variable `tf1_name`, past its read ops."""
        try:
            op = self.graph.get_operation_by_name(tf1_name)
        except KeyError:
            return []
        found: list[tf.Operation] = []
        stack = [op]
        while stack:
            current = stack.pop()
            for consumer in self.consumers(current.outputs[0]) if current.outputs else []:
                if consumer.type in _READS:
                    stack.append(consumer)
                elif consumer not in found:
                    found.append(consumer)
        return sorted(found, key=lambda o: o._id)

    def ancestors(self, ops: Sequence[tf.Operation]) -> set[tf.Operation]:
        seen: set[tf.Operation] = set()
        stack = list(ops)
        while stack:
            op = stack.pop()
            if op in seen:
                continue
            seen.add(op)
            stack.extend(t.op for t in op.inputs)
        return seen


def _matches(tensor: tf.Tensor, shape: tuple[int, ...]) -> bool:
    static = tensor.shape
    if static.rank is None or static.rank != len(shape):
        return False
    return all(d is None or d == s for d, s in zip(static.as_list(), shape, strict=True))


@dataclass
class _Located:
    unit: _Unit
    call: _Call
    tensor: tf.Tensor | None
    how: str
    region: list[tf.Operation] = field(default_factory=list)


def _locate(graph: _Graph, recorded: Recorded, pairs: Sequence[Pair]) -> list[_Located]:
    """Each recorded layer call (its last call, where a layer runs more than once) with the TF1
    tensor that plays its part."""
    tf1_of = {p.tf2.name: p.tf1.name for p in pairs}
    calls = []
    for call in recorded.calls:
        if call is call.unit.calls[-1]:
            calls.append(call)
    entries: dict[int, list[tf.Operation]] = {}
    owner: dict[tf.Operation, int] = {}
    for index, call in enumerate(calls):
        ops = sorted(
            {
                op
                for name in call.unit.variables
                if name in tf1_of
                for op in graph.readers(tf1_of[name])
            },
            key=lambda o: o._id,
        )
        if ops:
            entries[index] = ops
            for op in ops:
                owner.setdefault(op, index)
    located: list[_Located | None] = [None] * len(calls)
    for index, call in enumerate(calls):
        if index not in entries:
            continue
        shape = tuple(np.shape(_first_tensor(call.output)))
        ops = entries[index]
        tensor, region = _chain(graph, ops, owner, index, shape)
        how = "variables"
        if tensor is None:
            tensor, region = _region_output(graph, ops, owner, index, shape)
        located[index] = _Located(call.unit, call, tensor, how, region)
    # Layers without variables: by shape along the path from the last located layer's tensor
    # (or the features) to the next located layer's first op.
    # The first input's placeholder (a file may feed several: data() returning a dict or tuple).
    features = flat_inputs(graph.program.inputs)[0]
    index = 0
    while index < len(calls):
        if located[index] is not None:
            index += 1
            continue
        end = index
        while end < len(calls) and located[end] is None:
            end += 1
        before = next((located[i] for i in range(index - 1, -1, -1) if located[i]), None)
        start = before.tensor if before is not None and before.tensor is not None else features
        after = located[end] if end < len(calls) else None
        target = after.region[0] if after is not None and after.region else graph.program.loss.op
        path = _path(graph, start, target)
        position = 0
        for run in range(index, end):
            shape = tuple(np.shape(_first_tensor(calls[run].output)))
            tensor = None
            last = run == end - 1
            if last and after is not None and path:
                tensor = path[-1] if _matches(path[-1], shape) else None
            else:
                while position < len(path) and not _matches(path[position], shape):
                    position += 1
                while (
                    position + 1 < len(path)
                    and _matches(path[position + 1], shape)
                    and not (
                        run + 1 < end
                        and tuple(np.shape(_first_tensor(calls[run + 1].output))) == shape
                    )
                ):
                    position += 1
                if position < len(path):
                    tensor = path[position]
                    position += 1
            located[run] = _Located(
                calls[run].unit,
                calls[run],
                tensor,
                "shape and position",
                [tensor.op] if tensor is not None else [],
            )
        index = end
    return [found for found in located if found is not None]


def _chain(
    graph: _Graph, ops: list[tf.Operation], owner: dict, index: int, shape: tuple[int, ...]
) -> tuple[tf.Tensor | None, list[tf.Operation]]:
    """A Dense's or convolution's chain from its first op: its bias, then one activation."""
    op = ops[0]
    chain = [op]
    while True:
        following = graph.consumers(op.outputs[0])
        if len(following) != 1:
            break
        nxt = following[0]
        if owner.get(nxt, index) != index or not _matches(nxt.outputs[0], shape):
            break
        if nxt.type in _BIAS_OPS and chain[-1].type not in ACTIVATIONS:
            chain.append(nxt)
            op = nxt
            continue
        if nxt.type in ACTIVATIONS:
            chain.append(nxt)
        break
    if not set(ops) <= set(chain) or not _matches(chain[-1].outputs[0], shape):
        return None, []
    return chain[-1].outputs[0], chain


def _region_output(
    graph: _Graph, ops: list[tf.Operation], owner: dict, index: int, shape: tuple[int, ...]
) -> tuple[tf.Tensor | None, list[tf.Operation]]:
    """A layer of many ops (an LSTM over time): the last tensor of its shape, among the ops
    that follow its variables and come before the next layer's, that a later layer reads."""
    first = ops[0]._id
    later = [op._id for op, other in owner.items() if other != index and op._id > first]
    limit = min(later) if later else None
    region: set[tf.Operation] = set()
    stack = list(ops)
    while stack:
        op = stack.pop()
        if op in region or (limit is not None and op._id >= limit):
            continue
        region.add(op)
        for output in op.outputs:
            stack.extend(graph.consumers(output))
    best = None
    for op in sorted(region, key=lambda o: o._id):
        for output in op.outputs:
            if not _matches(output, shape):
                continue
            if any(c not in region for c in graph.consumers(output)):
                best = output
    return best, sorted(region, key=lambda o: o._id)


def _path(graph: _Graph, start: tf.Tensor, target: tf.Operation) -> list[tf.Tensor]:
    """Tensors from `start` (excluded) forward to the input of `target`, one per op."""
    ancestors = graph.ancestors([target])
    path: list[tf.Tensor] = []
    tensor = start
    for _ in range(10_000):
        following = [c for c in graph.consumers(tensor) if c in ancestors and c is not target]
        if not following:
            break
        op = following[0]
        tensor = op.outputs[0]
        path.append(tensor)
    return path


# ---- comparing --------------------------------------------------------------------------------


def _numpy(value: Any) -> np.ndarray | None:
    value = _first_tensor(value)
    try:
        return np.asarray(value)
    except Exception:  # a symbolic tensor (a user's own tf.function): nothing to compare
        return None


def _distance(port: np.ndarray | None, tf1: np.ndarray | None) -> int | None:
    if port is None or tf1 is None or port.shape != tf1.shape:
        return None
    return int(normwise_ulp_distance(port.astype(tf1.dtype), tf1))


def _tf1_input(found: _Located, located: list[_Located], features: np.ndarray) -> tf.Tensor | None:
    inputs = _first_tensor(found.call.inputs)
    for other in located:
        if other is found:
            break
        if _first_tensor(other.call.output) is inputs and other.tensor is not None:
            return other.tensor
    value = _numpy(inputs)
    if value is not None and value.shape == features.shape and np.array_equal(value, features):
        return None  # the features themselves
    for other in reversed(located[: located.index(found)]):
        other_value = _numpy(other.call.output)
        if (
            other.tensor is not None
            and other_value is not None
            and other_value.shape == value.shape
            and np.array_equal(other_value, value)
        ):
            return other.tensor
    return None


def _alone(port: TF2Port, call: _Call, value: np.ndarray, step: int) -> np.ndarray | None:
    """The port layer called on TF1's value of its input, its k-th dropout the step's k-th."""
    layer = call.unit.obj
    port.step_variable.assign(step)
    rates = list(port.dropout.rates)
    port.dropout.calls = call.dropout_index
    kwargs = {} if call.training is None else {"training": call.training}
    try:
        with port.dropout.active():
            output = layer(tf.convert_to_tensor(value), **kwargs)
    except Exception:  # a layer that takes more than one input: compared in its full pass only
        return None
    finally:
        port.dropout.rates = rates
    return _numpy(output)


def localise(
    recorded: Recorded | None,
    port: TF2Port,
    program: TF1Program,
    pairs: Sequence[Pair],
    before: dict[str, np.ndarray],
    features: np.ndarray,
    labels: np.ndarray,
    step: int,
) -> list[Finding]:
    """The layers' outputs against TF1's at TF1's parameters, and the first layer that differs
    fed TF1's own input (a Finding at rung "layer" holding every layer's comparison)."""
    if recorded is None or not recorded.calls:
        return []
    started = time.perf_counter()
    graph = _Graph(program)
    located = _locate(graph, recorded, pairs)
    fetch = {
        f"layer{i}": found.tensor.name
        for i, found in enumerate(located)
        if found.tensor is not None
    }
    tf1_rates = [r for r in program.dropout.rates if isinstance(r, tf.Tensor)]
    for index, rate in enumerate(tf1_rates):
        fetch[f"rate{index}"] = rate.name
    program.load(before)
    values = program.intermediates(fetch, features, labels, step) if fetch else {}
    tf1_values = {}
    for i, found in enumerate(located):
        if found.tensor is not None:
            tf1_values[id(found)] = values[f"layer{i}"]
    rates = _rates(program, port, values)
    comparisons: list[LayerComparison] = []
    named: LayerComparison | None = None
    fallback: LayerComparison | None = None
    for found in located:
        tf1_value = tf1_values.get(id(found))
        port_value = _numpy(found.call.output)
        ulps = _distance(port_value, tf1_value)
        input_tensor = _tf1_input(found, located, features)
        tf1_input = (
            features
            if input_tensor is None
            else tf1_values.get(next((id(o) for o in located if o.tensor is input_tensor), -1))
        )
        port_input = _numpy(found.call.inputs)
        input_ulps = _distance(port_input, tf1_input)
        alone_ulps = None
        alone_relative = None
        if ulps and tf1_input is not None and named is None:
            alone = _alone(port, found.call, tf1_input, step)
            alone_ulps = _distance(alone, tf1_value)
            if alone_ulps:
                alone_relative = float(relative_error(alone, tf1_value))
        setting = None
        # Only beyond rounding: a layer that differs by a kernel's summation order has no setting.
        beyond = (alone_relative or 0.0) > _REAL_RELATIVE
        if alone_ulps and (beyond or isinstance(found.unit.obj, keras.layers.Dropout)):
            setting = _setting(found, graph, rates)
        comparison = LayerComparison(
            layer=found.unit.name,
            kind=type(found.unit.obj).__name__,
            tf1_tensor=found.tensor.name if found.tensor is not None else None,
            tf1_op=found.tensor.op.type if found.tensor is not None else None,
            located_by=found.how,
            ulps=ulps,
            input_ulps=input_ulps,
            input_agrees=None if input_ulps is None else input_ulps == 0,
            alone_ulps=alone_ulps,
            alone_relative=alone_relative,
            setting=setting,
            difference=(
                None
                if ulps is None or not ulps
                else (port_value.astype(np.float64) - tf1_value.astype(np.float64)).ravel()
            ),
        )
        comparisons.append(comparison)
        if alone_ulps and named is None:
            if setting is not None or beyond:
                named = comparison
            elif fallback is None:
                fallback = comparison
    named = named or fallback
    seconds = time.perf_counter() - started + recorded.seconds
    if named is not None:
        index = comparisons.index(named)
        comparisons[index] = named = named.naming(seconds)
    elif comparisons:
        comparisons[0] = comparisons[0].naming(seconds, first=False)
    return [_finding(comparisons, named, rates, step)]


def _finding(
    comparisons: list[LayerComparison],
    named: LayerComparison | None,
    rates: list[tuple[float, float]],
    step: int,
) -> Finding:
    if named is not None:
        message = (
            f"the first layer that differs fed TF1's own input is {named.layer} ({named.kind}, "
            f"TF1's {named.tf1_tensor}): {named.alone_ulps} ULPs (normwise) from TF1's"
        )
        if named.setting:
            message += f"; {named.setting}"
        # Without a setting named, the layer is a cause only beyond what arithmetic explains:
        # the forward-pass finding already carries the ULPs against --tolerance-ulps.
        return Finding(
            "layer",
            named.layer,
            message,
            named.alone_ulps or 0,
            basis="setting" if named.setting else "arithmetic",
            step=step,
            relative=None if named.setting else named.alone_relative,
            layers=tuple(comparisons),
        )
    differing = [c for c in comparisons if c.ulps]
    if differing:
        message = (
            f"layers differ from {differing[0].layer} on, but none fed TF1's own input alone "
            "(the difference is between layers, or in code no layer holds)"
        )
    else:
        message = "every located layer agrees with TF1's tensor at equal parameters"
    mismatched = [
        f"dropout {k}: rate {p:g} in the port, {t:g} in TF1"
        for k, (p, t) in enumerate(rates)
        if not np.isclose(p, t)
    ]
    if mismatched:
        message += "; " + "; ".join(mismatched)
        return Finding(
            "layer", None, message, basis="setting", step=step, layers=tuple(comparisons)
        )
    return Finding(
        "layer", None, message, 0, basis="arithmetic", step=step, layers=tuple(comparisons)
    )


def _rates(program: TF1Program, port: TF2Port, values: dict) -> list[tuple[float, float]]:
    """(port's rate, TF1's rate) per dropout, in the order each side ran them."""
    tf1: list[float] = []
    fetched = 0
    for rate in program.dropout.rates:
        if isinstance(rate, tf.Tensor):
            tf1.append(float(values[f"rate{fetched}"]))
            fetched += 1
        else:
            tf1.append(float(rate))
    ours = []
    for rate in port.dropout.rates:
        try:
            ours.append(float(np.asarray(rate)))
        except Exception:
            return []
    # Pairs by k while both sides ran a k-th dropout (a dropout only one side has is not a rate).
    return list(zip(ours, tf1, strict=False))


def _setting(found: _Located, graph: _Graph, rates: list[tuple[float, float]]) -> str | None:
    """The setting of a known layer that differs from the TF1 ops found for it."""
    layer = found.unit.obj
    ops = found.region or ([found.tensor.op] if found.tensor is not None else [])
    if found.tensor is not None and found.how != "variables":
        ops = [found.tensor.op]
    kind = type(layer).__name__
    if isinstance(layer, keras.layers.Dropout):
        index = found.call.dropout_index
        if index < len(rates):
            port_rate, tf1_rate = rates[index]
            if np.isclose(port_rate, 1 - tf1_rate) and not np.isclose(port_rate, tf1_rate):
                return (
                    f"a keep probability passed as a rate: the port's Dropout({port_rate:g}) drops "
                    f"{port_rate:g} of its inputs, TF1's keep_prob {1 - tf1_rate:g} drops "
                    f"{tf1_rate:g}; use rate=1 - keep_prob"
                )
            if not np.isclose(port_rate, tf1_rate):
                return f"dropout rate {port_rate:g} in the port, {tf1_rate:g} in TF1"
    for op in ops:
        if op.type in _POOLS and "Pooling" in kind:
            tf1_kind = _POOLS[op.type]
            port_kind = "max" if "Max" in kind else "average" if "Average" in kind else None
            if port_kind and port_kind != tf1_kind:
                return (
                    f"pooling kind: TF1's {op.name} is {op.type}, the port's {found.unit.name} "
                    f"is {kind}"
                )
            found_setting = _padding_strides(op, layer, found.unit.name)
            if found_setting:
                return found_setting
        if op.type in _CONVOLUTIONS:
            found_setting = _padding_strides(op, layer, found.unit.name)
            if found_setting:
                return found_setting
        if op.type.startswith("FusedBatchNorm") and hasattr(layer, "epsilon"):
            epsilon = op.get_attr("epsilon")
            if not np.isclose(epsilon, layer.epsilon, rtol=1e-6):
                return (
                    f"batch-norm epsilon {layer.epsilon:g} in the port, {epsilon:g} in TF1 "
                    f"({op.name})"
                )
    activation = getattr(layer, "activation", None)
    if activation is not None and not isinstance(layer, keras.layers.RNN):
        name = getattr(activation, "__name__", str(activation))
        tf1_activation = next((ACTIVATIONS[o.type] for o in ops if o.type in ACTIVATIONS), "linear")
        if name != tf1_activation:
            lost = " (a lost activation)" if name == "linear" else ""
            return (
                f"activation {name} in the port's {found.unit.name}, TF1 applies "
                f"{tf1_activation} ({next((o.name for o in ops if o.type in ACTIVATIONS), 'none')})"
                f"{lost}"
            )
    bias = _forget_bias(found.region)
    if bias is not None:
        op, value = bias
        if isinstance(layer, keras.layers.RNN | keras.layers.Bidirectional):
            return (
                f"TF1's LSTM cell adds forget_bias {value:g} to the forget gate ({op.name}); "
                "Keras's LSTM adds none at run time (unit_forget_bias only starts the bias at "
                f"1): add {value:g} to the forget slice of the bias when converting"
            )
        return (
            f"TF1's LSTM cell adds forget_bias {value:g} to the forget gate before its sigmoid "
            f"({op.name}): does the port's {found.unit.name} leave it out?"
        )
    return None


def _padding_strides(op: tf.Operation, layer: Any, name: str) -> str | None:
    padding = op.get_attr("padding").decode() if "padding" in op.node_def.attr else None
    port_padding = getattr(layer, "padding", None)
    if padding and isinstance(port_padding, str) and port_padding.upper() != padding:
        return f"padding: TF1's {op.name} pads {padding!r}, the port's {name} {port_padding!r}"
    strides = list(op.get_attr("strides")) if "strides" in op.node_def.attr else None
    port_strides = getattr(layer, "strides", None)
    if strides and port_strides is not None and list(strides[1:-1]) != list(port_strides):
        return (
            f"strides: TF1's {op.name} strides {strides[1:-1]}, the port's {name} "
            f"{list(port_strides)}"
        )
    return None


def _forget_bias(region: Sequence[tf.Operation]) -> tuple[tf.Operation, float] | None:
    """An Add of a scalar constant feeding a Sigmoid: BasicLSTMCell's forget_bias."""
    for op in region:
        if op.type not in ("Add", "AddV2"):
            continue
        constants = [t for t in op.inputs if t.op.type == "Const" and t.shape.rank == 0]
        if not constants or not any(c.type == "Sigmoid" for c in op.outputs[0].consumers()):
            continue
        value = float(tensor_util.MakeNdarray(constants[0].op.get_attr("value")))
        if value:
            return op, value
    return None


# ---- shapes that follow from a setting upstream -----------------------------------------------


def shape_hint(program: TF1Program, port: TF2Port) -> str:
    """Why a variable after a conv stack has another shape: TF1's convolutions and poolings, in
    graph order, against the port's Conv and Pooling layers, in order; "" when they agree."""
    graph = _Graph(program)
    tf1_ops = sorted(
        (op for op in graph.forward if op.type in _CONVOLUTIONS or op.type in _POOLS),
        key=lambda o: o._id,
    )
    layers = [
        unit
        for unit in _units(port)
        if isinstance(unit.obj, keras.layers.Layer)
        and _spatial_kind(type(unit.obj).__name__) is not None
    ]
    causes: list[str] = []
    for op, unit in zip(tf1_ops, layers, strict=False):
        kind = type(unit.obj).__name__
        tf1_kind = "conv" if op.type in _CONVOLUTIONS else _POOLS[op.type]
        port_kind = _spatial_kind(kind)
        if (tf1_kind == "conv") != (port_kind == "conv"):
            causes.append(
                f"the port's {unit.name} ({kind}) stands where TF1 has {op.name} ({op.type})"
            )
            break
        if tf1_kind != port_kind:
            causes.append(
                f"pooling kind: TF1's {op.name} is {op.type}, the port's {unit.name} {kind}"
            )
        setting = _padding_strides(op, unit.obj, unit.name)
        if setting:
            causes.append(setting)
        if op.type in _POOLS and "ksize" in op.node_def.attr:
            window = list(op.get_attr("ksize"))[1:-1]
            pool_size = list(getattr(unit.obj, "pool_size", window))
            if pool_size != window:
                causes.append(
                    f"pool size: TF1's {op.name} pools {window}, the port's {unit.name} {pool_size}"
                )
    if len(tf1_ops) != len(layers) and not causes:
        causes.append(
            f"TF1 has {len(tf1_ops)} convolutions and poolings, the port {len(layers)} Conv and "
            "Pooling layers"
        )
    return "; ".join(causes)


def _spatial_kind(kind: str) -> str | None:
    if kind.startswith("Conv") or kind.startswith("DepthwiseConv"):
        return "conv"
    if "Pooling" in kind and not kind.startswith("Global"):
        return "max" if "Max" in kind else "average"
    return None
