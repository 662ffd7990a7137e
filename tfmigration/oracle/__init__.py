"""An independent NumPy float64 implementation of every catalog model, the reference for all."""

from tfmigration.oracle.engine import OracleEngine, train

__all__ = ["OracleEngine", "train"]
