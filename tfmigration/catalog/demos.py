"""The automatic differentiation demos of docs/catalog.md, as data.

Each demo names the quantities it prints, in print order, with the numbers the catalog says must
come out. They are small integers, exact in float32, so every style must produce them bit for bit.
Nothing here imports TensorFlow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tfmigration.catalog.errors import ConfigError


@dataclass(frozen=True)
class Demo:
    """One autodiff demo: its set-up in words and the catalog's value of each quantity."""

    name: str
    summary: str
    expected: Mapping[str, Any]  # quantity name -> number or nested list, in print order

    @property
    def quantities(self) -> tuple[str, ...]:
        return tuple(self.expected)


DEMOS: dict[str, Demo] = {
    demo.name: demo
    for demo in (
        Demo(
            name="square",
            summary="x = Variable(3.0), y = x^2",
            expected={"y": 9.0, "dy/dx": 6.0},
        ),
        Demo(
            name="chain",
            summary="x = constant(5.0) watched, y = x*x, z = y*y, one persistent tape used twice",
            # Labelled on purpose: a well-known tutorial prints these two swapped.
            expected={"dz/dx": 500.0, "dy/dx": 10.0},
        ),
        Demo(
            name="partials",
            summary="x = Variable(3.0), y = Variable(4.0), f = x^2 + 2y^2 + 1, to second order",
            expected={
                "f": 42.0,
                "df/dx": 6.0,
                "df/dy": 16.0,
                "d2f/dx2": 2.0,
                "d2f/dy2": 4.0,
                "hessian": [[2.0, 0.0], [0.0, 4.0]],
            },
        ),
        Demo(
            name="matrix",
            summary="x = ones(5, 5) watched, y = sum(x), y = sum(y + x), z = y*y",
            expected={"z": 422500.0, "dz/dx": [[33800.0] * 5 for _ in range(5)]},
        ),
    )
}


def get_demo(name: str) -> Demo:
    try:
        return DEMOS[name]
    except KeyError:
        raise ConfigError(f"unknown demo {name!r}; choose one of: {', '.join(DEMOS)}") from None
