"""The model catalog: style-free definitions every execution style and the oracle share."""

from tfmigration.catalog.errors import ConfigError, DataError, UserError
from tfmigration.catalog.models import MODELS
from tfmigration.catalog.problem import (
    OPTIMIZERS,
    Problem,
    TrainConfig,
    get_model,
    parse_init,
    prepare,
)
from tfmigration.catalog.spec import LOSS_REDUCTIONS, Model

__all__ = [
    "LOSS_REDUCTIONS",
    "MODELS",
    "OPTIMIZERS",
    "ConfigError",
    "DataError",
    "Model",
    "Problem",
    "TrainConfig",
    "UserError",
    "get_model",
    "parse_init",
    "prepare",
]
