"""One port layer's output against the TF1 tensor found for it, at equal parameters and batch.

Style-free: built by bridge.checking.layers, held by a ladder Finding (`Finding.layers`), read by
the report's text, its JSON records and the TensorBoard pictures.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class LayerComparison:
    layer: str  # the port layer's path
    kind: str  # its class
    tf1_tensor: str | None  # the TF1 tensor that plays its part; None where none was found
    tf1_op: str | None
    located_by: str  # "variables" (the ops that read its paired variables), "shape and position"
    ulps: int | None  # normwise, port's output against TF1's tensor in the same step
    input_ulps: int | None  # the same for its input
    input_agrees: bool | None
    alone_ulps: int | None  # its output fed TF1's value of its input (where it was fed)
    alone_relative: float | None  # the same, max|port - TF1| / max|TF1|
    setting: str | None  # the setting named as the cause
    named: bool = False  # the first layer that differs fed TF1's own input
    seconds: float | None = None  # what localising cost, on the named (or first) layer
    # "forward": outputs compared, fed TF1's input; "backward": input gradients compared, fed
    # TF1's gradient at the output (ulps/alone_ulps are then of the input gradient, and
    # input_agrees says whether the gradient reaching its output agrees).
    direction: str = "forward"
    # port - TF1, float64, flattened: for the histograms; never in JSON.
    difference: np.ndarray | None = dataclasses.field(default=None, compare=False, repr=False)

    def naming(self, seconds: float, *, first: bool = True) -> LayerComparison:
        return dataclasses.replace(self, named=first, seconds=seconds)

    def record(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "direction": self.direction,
            "kind": self.kind,
            "tf1_tensor": self.tf1_tensor,
            "tf1_op": self.tf1_op,
            "located_by": self.located_by,
            "ulps": self.ulps,
            "input_ulps": self.input_ulps,
            "input_agrees": self.input_agrees,
            "alone_ulps": self.alone_ulps,
            "alone_relative": self.alone_relative,
            "setting": self.setting,
            "named": self.named,
            "seconds": self.seconds,
        }


def layers_text(comparisons: Sequence[LayerComparison]) -> str:
    """The correspondence, like the variable pairing: port layer -> TF1 tensor, and the ULPs."""
    width = max((len(c.layer) for c in comparisons), default=0)
    lines = []
    for c in comparisons:
        where = c.tf1_tensor or "(not found)"
        ulps = "shapes differ" if c.ulps is None and c.tf1_tensor else f"{c.ulps} ULPs"
        if c.tf1_tensor is None:
            ulps = "-"
        fed = "TF1's output gradient" if c.direction == "backward" else "TF1's input"
        extra = f", fed {fed} {c.alone_ulps} ULPs" if c.alone_ulps is not None else ""
        mark = "  <- first that differs" if c.named else ""
        lines.append(f"    {c.layer:<{width}}  ->  {where}  ({c.located_by}; {ulps}{extra}){mark}")
    return "\n".join(lines)
