"""Keras 3 recurrent layers seen in TF1's layout: one `LayoutView` per TF1 cell variable.

A check pairs variables one to one. A TF1 `BasicLSTMCell` keeps a kernel [in + u, 4u] and a
bias; Keras's `LSTM` keeps kernel, recurrent_kernel and bias, its gates in another order
(`tfmigration.migration.layouts`). Where the TF1 program built recurrent cells, the port's
recurrent layers are shown to the check as views in TF1's layout instead of their own variables:
reading a view gathers (and shifts) the Keras values, writing one scatters into them, and the
same indices carry slots and gradients. Everything downstream (pairing, copying TF1's values,
comparing every step, slots, the ladder, checkpoints) then works on TF1's layout unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from tfmigration.migration.layouts import KINDS, CellInfo, Layout, keras_layouts, read, write


class LayoutView:
    """A TF1 variable as a view of Keras variables (kernel, recurrent_kernel, bias)."""

    def __init__(
        self, path: str, sources: Sequence[Any], layout: Layout, *, slot: bool = False
    ) -> None:
        self.path = path
        self.sources = list(sources)
        self.layout = layout
        self.slot = slot
        self.shape = tf.TensorShape(layout.shape)
        self.dtype = tf.as_dtype(self.sources[0].dtype)
        self.trainable = bool(getattr(self.sources[0], "trainable", True))
        self._index = tf.constant(layout.index.reshape(-1), tf.int64)
        self._shift = (
            None
            if layout.shift is None or slot
            else tf.constant(layout.shift.reshape(-1), self.dtype)
        )

    @property
    def name(self) -> str:
        return self.path

    def _flat(self) -> tf.Tensor:
        return tf.concat([tf.reshape(tf.convert_to_tensor(v), [-1]) for v in self.sources], 0)

    def __tf_tensor__(self, dtype: Any = None, name: Any = None) -> tf.Tensor:
        value = tf.gather(self._flat(), self._index)
        if self._shift is not None:
            value = value + self._shift
        value = tf.reshape(value, self.layout.shape)
        return value if dtype is None else tf.cast(value, dtype)

    def numpy(self) -> np.ndarray:
        return read(self.layout, _flat_numpy(self.sources), slot=self.slot)

    def assign(self, value: Any) -> None:
        flat = _flat_numpy(self.sources)
        write(self.layout, flat, np.asarray(value), slot=self.slot)
        _assign_flat(self.sources, flat)

    def gather(self, arrays: Sequence[np.ndarray]) -> np.ndarray:
        """This view's part of per-source arrays (gradients): no shift, a gradient's layout."""
        flat = np.concatenate([np.asarray(a).reshape(-1) for a in arrays])
        return read(self.layout, flat, slot=True)

    def scatter(self, value: np.ndarray, into: list[np.ndarray]) -> None:
        """Write a TF1-layout gradient into per-source arrays (in place)."""
        flat = np.concatenate([a.reshape(-1) for a in into])
        write(self.layout, flat, value, slot=True)
        _split_into(flat, into)


def _flat_numpy(sources: Sequence[Any]) -> np.ndarray:
    return np.concatenate([np.asarray(v.numpy()).reshape(-1) for v in sources])


def _split_into(flat: np.ndarray, arrays: list[np.ndarray]) -> None:
    start = 0
    for array in arrays:
        size = array.size
        array.reshape(-1)[:] = flat[start : start + size]
        start += size


def _assign_flat(sources: Sequence[Any], flat: np.ndarray) -> None:
    start = 0
    for variable in sources:
        size = int(np.prod(variable.shape))
        variable.assign(flat[start : start + size].reshape(tuple(variable.shape)))
        start += size


def recurrent_groups(named: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Keras recurrent cells among the port's variables, by the path they share: the ones with a
    `kernel`, a `recurrent_kernel` [u, k*u] and maybe a `bias`."""
    groups: dict[str, dict[str, Any]] = {}
    for name, variable in named.items():
        parent, _, leaf = name.rpartition("/")
        if leaf in ("kernel", "recurrent_kernel", "bias"):
            groups.setdefault(parent, {})[leaf] = variable
    return {
        parent: members
        for parent, members in groups.items()
        if "recurrent_kernel" in members and "kernel" in members
    }


def tf1_layout_views(
    named: dict[str, Any], cells: Sequence[CellInfo], source: str
) -> tuple[dict[str, Any], list[str]]:
    """The port's variables with each Keras recurrent cell replaced by views in the layout of
    the TF1 cells, matched in creation order; and what was done, for the notes. Refused in one
    line where a TF1 cell has no Keras twin, or a Keras GRU computes another function."""
    from tfmigration.migration.contract import ContractError

    groups = recurrent_groups(named)
    if not groups or not cells:
        return named, []
    keras_cells = []
    for parent, members in groups.items():
        recurrent = members["recurrent_kernel"]
        units, width = (int(d) for d in recurrent.shape)
        kind = KINDS.get(width // units if units else 0)
        bias = members.get("bias")
        if kind == "gru" and bias is not None and len(bias.shape) == 2:
            raise ContractError(
                f"{source}: the port's GRU {parent!r} has reset_after=True (Keras's default): "
                "it applies the reset gate after the recurrent product, r * (h @ U + b), where "
                "TF1's GRUCell computes (r * h) @ U; build it with reset_after=False"
            )
        keras_cells.append((parent, kind, members, units))
    replaced: dict[str, list[tuple[str, Any]]] = {}  # the group's first variable -> its views
    gone: set[str] = set()
    done = []
    tf1_cells = list(cells)
    for parent, kind, members, units in keras_cells:
        cell = next((c for c in tf1_cells if c.kind == kind), None)
        if cell is None:
            continue
        tf1_cells.remove(cell)
        if cell.no_keras_twin:
            raise ContractError(
                f"{source}: TF1's {cell.cell} uses {cell.no_keras_twin}, which no Keras 3 "
                f"layer computes, so the port's {kind.upper()} {parent!r} cannot be its twin; "
                "port the cell as a tf.Module in TF1's layout"
            )
        if "bias" not in members:
            continue  # no bias to carry: left as it is, the pairing names what is missing
        sources = [members["kernel"], members["recurrent_kernel"], members["bias"]]
        inputs = int(members["kernel"].shape[0])
        names = [f"{parent}/{leaf}" for leaf in ("kernel", "recurrent_kernel", "bias")]
        first = next(name for name in named if name in names)
        replaced[first] = [
            (f"{parent}/{layout.role}", LayoutView(f"{parent}/{layout.role}", sources, layout))
            for layout in keras_layouts(kind, inputs, units, cell.forget_bias)
        ]
        gone.update(names)
        done.append(f"{parent} as TF1's {cell.cell} ({', '.join(cell.variables.values())})")
    views: dict[str, Any] = {}
    for name, variable in named.items():
        views.update(replaced.get(name, []))
        if name not in gone:
            views[name] = variable
    return views, done
