"""Logical CPU devices for replicated runs, set up before TensorFlow initialises its devices.

`tf.config.set_logical_device_configuration` only works before the first use of a device; after
that TensorFlow refuses with "Virtual devices cannot be modified after being initialized". So the
command line asks for its devices right after importing TensorFlow, and the test session once,
in conftest.py, for the most any test uses.
"""

from __future__ import annotations

from tfmigration.catalog.errors import ConfigError


def ensure_logical_cpus(count: int) -> tuple[str, ...]:
    """Make sure at least `count` logical CPU devices exist; return the first `count` names.

    Splits the one physical CPU into `count` logical devices when TensorFlow has not set up its
    devices yet; refuses in one line when it has, with fewer.
    """
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    configured = tf.config.get_logical_device_configuration(cpu)
    available = len(configured) if configured else 1
    if available < count:
        try:
            tf.config.set_logical_device_configuration(
                cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(count)]
            )
        except RuntimeError:
            raise ConfigError(
                f"--replicas {count}: TensorFlow set up its devices in this process before "
                f"the replicas were asked for ({available} CPU device"
                f"{'' if available == 1 else 's'}); ask for them before the first TensorFlow "
                "op (tfmigration.devices.ensure_logical_cpus)"
            ) from None
    return tuple(f"/cpu:{index}" for index in range(count))
