"""Errors a user can cause. Each message is one line naming the bad value and what is accepted."""

from __future__ import annotations

# Exit statuses besides a UserError's own `exit_code` (0 agree, 1 differ, 2 a bad file or option).
# A crash of ours must never read as a verdict, so it has a status of its own; 130 is what a
# shell reports for a process ended by SIGINT (128 + 2), so Ctrl-C looks the same from outside.
INTERNAL_ERROR_EXIT = 3
INTERRUPTED_EXIT = 130
# Set (to anything but "" or "0") to print our own traceback under an internal error.
DEBUG_VARIABLE = "TFBRIDGE_DEBUG"


class UserError(Exception):
    """Something the user asked for cannot be done; the message says why in one line."""

    exit_code = 1


class ConfigError(UserError):
    """A bad option value: unknown model, bad --init, non-positive --lr, and so on."""

    exit_code = 2


class DataError(UserError):
    """A data file that cannot be read as a numeric table."""

    exit_code = 1
