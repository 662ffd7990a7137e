"""The style-free training loop and its result record."""

from tfmigration.training.driver import Engine, Observer, TrainingDiverged, Trajectory, run

__all__ = ["Engine", "Observer", "TrainingDiverged", "Trajectory", "run"]
