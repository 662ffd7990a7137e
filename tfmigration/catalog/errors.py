"""Errors a user can cause. Each message is one line naming the bad value and what is accepted."""

from __future__ import annotations


class UserError(Exception):
    """Something the user asked for cannot be done; the message says why in one line."""

    exit_code = 1


class ConfigError(UserError):
    """A bad option value: unknown model, bad --init, non-positive --lr, and so on."""

    exit_code = 2


class DataError(UserError):
    """A data file that cannot be read as a numeric table."""

    exit_code = 1
