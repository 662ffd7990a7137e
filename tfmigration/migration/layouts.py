"""Weight layouts: a TF1 recurrent cell's variables as gathers from a Keras 3 layer's variables.

TF1's cells (tf_keras `layers/rnn/legacy_cells.py`, which `tf.compat.v1.nn.rnn_cell` exports)
apply one kernel to `concat([x, h])`; Keras 3's layers (`keras/src/layers/rnn/lstm.py`, `gru.py`,
`simple_rnn.py`) keep a `kernel` for x and a `recurrent_kernel` for h, and order their gates
otherwise:

- `BasicLSTMCell` / `LSTMCell`: `kernel` [in + u, 4u], gates i, j, f, o; `bias` [4u]; the
  `forget_bias` (1.0 by default) is added to f at run time and never stored. Keras `LSTM`:
  `kernel` [in, 4u], `recurrent_kernel` [u, 4u], gates i, f, c (TF1's j), o; `bias` [4u] holds
  the forget bias itself (`unit_forget_bias` only initialises it).
- `GRUCell`: `gates/kernel` [in + u, 2u] (r, u) and `candidate/kernel` [in + u, u], applied to
  `concat([x, r * h])`; `gates/bias` [2u], `candidate/bias` [u]. Keras `GRU(reset_after=False)`:
  `kernel` [in, 3u] and `recurrent_kernel` [u, 3u], gates z (TF1's u), r, h; `bias` [3u].
  `reset_after=True`, Keras's default, applies r after the recurrent product: another function.
- `BasicRNNCell`: `kernel` [in + u, u]; Keras `SimpleRNN`: `kernel` [in, u], `recurrent_kernel`
  [u, u].

A `Layout` says, for each TF1 variable of a cell, which element of the Keras variables
(flattened and concatenated: kernel, recurrent_kernel, bias) each of its elements is, and what
to add: `tf1 = keras[index] + shift`. Every Keras element is used once, so the same indices write
TF1's values into Keras's variables (`keras[index] = tf1 - shift`), and slots (no shift) travel
the same way. Style-free: NumPy only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# TF1's gate blocks, in TF1's order, as Keras's block positions.
LSTM_GATES = (0, 2, 1, 3)  # i, j, f, o -> Keras i, f, c, o
GRU_GATES = (1, 0)  # r, u -> Keras z, r, h: r is block 1, u (update) is z, block 0
# Keras recurrent kernels [u, k*u] by k, and what each is.
KINDS = {4: "lstm", 3: "gru", 1: "rnn"}


@dataclass(frozen=True)
class CellInfo:
    """A TF1 recurrent cell the program built: its kind, its variables by role, its settings."""

    kind: str  # "lstm", "gru", "rnn"
    cell: str  # the TF1 class: BasicLSTMCell, LSTMCell, GRUCell, BasicRNNCell
    variables: dict[str, str]  # role ("kernel", "bias", "gates/kernel", ...) -> TF1 name
    forget_bias: float = 0.0
    # Why no Keras 3 layer computes this cell (peepholes, cell_clip, num_proj), or "".
    no_keras_twin: str = ""


@dataclass(frozen=True)
class Layout:
    """One TF1 variable as a gather from Keras variables: `tf1 = keras[index] + shift`."""

    role: str
    shape: tuple[int, ...]
    index: np.ndarray = field(repr=False)  # into the concatenated flat Keras variables
    shift: np.ndarray | None = field(default=None, repr=False)
    description: str = ""


def _kernel_index(
    inputs: int, units: int, blocks: int, gates: tuple[int, ...], width: int
) -> np.ndarray:
    """TF1's kernel [inputs + units, len(gates) * width] read from Keras's kernel [inputs,
    blocks * units] then recurrent kernel [units, blocks * units], flat, gate by gate."""
    columns = np.concatenate([np.arange(width) + gate * units for gate in gates])
    rows = np.arange(inputs + units)
    stride = blocks * units
    # Input rows come from the kernel; state rows from the recurrent kernel, which follows it.
    row_start = np.where(rows < inputs, rows * stride, inputs * stride + (rows - inputs) * stride)
    return (row_start[:, None] + columns[None, :]).astype(np.int64)


def keras_layouts(kind: str, inputs: int, units: int, forget_bias: float = 0.0) -> list[Layout]:
    """The TF1 variables of a `kind` cell as gathers from Keras's (kernel, recurrent_kernel,
    bias), in the order TF1 creates them."""
    blocks = {"lstm": 4, "gru": 3, "rnn": 1}[kind]
    bias_start = (inputs + units) * blocks * units
    if kind == "lstm":
        kernel = _kernel_index(inputs, units, blocks, LSTM_GATES, units)
        bias = np.concatenate([np.arange(units) + gate * units for gate in LSTM_GATES])
        shift = np.zeros(4 * units)
        shift[2 * units : 3 * units] = -forget_bias  # TF1's f block: Keras's bias holds +forget
        order = "i, j, f, o from Keras's i, f, c, o"
        return [
            Layout(
                "kernel",
                (inputs + units, 4 * units),
                kernel,
                None,
                f"concat(kernel, recurrent_kernel), gates {order}",
            ),
            Layout(
                "bias",
                (4 * units,),
                bias + bias_start,
                shift if forget_bias else None,
                f"gates {order}" + (f", minus forget_bias {forget_bias:g}" if forget_bias else ""),
            ),
        ]
    if kind == "gru":
        gates = _kernel_index(inputs, units, blocks, GRU_GATES, units)
        candidate = _kernel_index(inputs, units, blocks, (2,), units)
        gate_bias = np.concatenate([np.arange(units) + gate * units for gate in GRU_GATES])
        return [
            Layout(
                "gates/kernel",
                (inputs + units, 2 * units),
                gates,
                None,
                "concat(kernel, recurrent_kernel), gates r, u from Keras's z, r, h",
            ),
            Layout(
                "gates/bias",
                (2 * units,),
                gate_bias + bias_start,
                None,
                "gates r, u from Keras's z, r, h",
            ),
            Layout(
                "candidate/kernel",
                (inputs + units, units),
                candidate,
                None,
                "concat(kernel, recurrent_kernel), Keras's h block",
            ),
            Layout(
                "candidate/bias",
                (units,),
                np.arange(units) + 2 * units + bias_start,
                None,
                "Keras's h block",
            ),
        ]
    kernel = _kernel_index(inputs, units, 1, (0,), units)
    return [
        Layout("kernel", (inputs + units, units), kernel, None, "concat(kernel, recurrent_kernel)"),
        Layout("bias", (units,), np.arange(units) + bias_start, None, "as it is"),
    ]


def read(layout: Layout, flat: np.ndarray, *, slot: bool = False) -> np.ndarray:
    """The TF1 variable from Keras's concatenated flat values (a slot takes no shift)."""
    value = flat[layout.index]
    if layout.shift is not None and not slot:
        value = value + layout.shift.astype(flat.dtype)
    return value.reshape(layout.shape)


def write(layout: Layout, flat: np.ndarray, value: np.ndarray, *, slot: bool = False) -> None:
    """Put a TF1 variable's values into Keras's concatenated flat values, in place."""
    value = np.asarray(value, dtype=flat.dtype).reshape(-1)
    if layout.shift is not None and not slot:
        value = value - layout.shift.astype(flat.dtype)
    flat[layout.index.reshape(-1)] = value
