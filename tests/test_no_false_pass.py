"""No false pass: every rule that can say `equivalent` meets ports that really train otherwise.

Each port here differs from its TF1 program in one way, most of them where a rerun of one step
from TF1's own state cannot see it (the optimizer's starting slots, a step counter, a learning
rate schedule, a random op, a variable the port never updates, an update never applied). Each
must come out `different` (or be refused), with the cause named; the faithful ports beside them
must stay `identical` or `equivalent`. The files are written from one template, one change each,
so a case reads as the mistake it makes.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from bridge.checking.ladder import learning_rate_findings
from bridge.checking.reference import Reference
from bridge.cli import main as tfbridge
from bridge.record import record_migration
from bridge.testing import check_migration
from tfmigration.migration.contract import ContractError

DATA = """
def data():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(96, 4)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] * x[:, 2] > 0).astype(np.int32) + (x[:, 3] > 1).astype(np.int32)
    return x, y
"""

TF1_MLP = """
def tf1_train(features, labels):
    with tf.compat.v1.variable_scope("hidden"):
        w1 = tf.compat.v1.get_variable("kernel", [4, 8])
        b1 = tf.compat.v1.get_variable("bias", [8], initializer=tf.zeros_initializer())
    with tf.compat.v1.variable_scope("out"):
        w2 = tf.compat.v1.get_variable("kernel", [8, 3])
        b2 = tf.compat.v1.get_variable("bias", [3], initializer=tf.zeros_initializer())
    logits = tf.matmul(tf.tanh(tf.matmul({inputs}, w1) + b1), w2) + b2
    loss = tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    )
    {extra}
    return loss, {train_op}
"""

KERAS_MLP = """
def tf2_setup():
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(8, activation="tanh", name="hidden"),
            keras.layers.Dense(3, name="out"),
        ]
    )
    {setup}
    return model, {optimizer}


loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def tf2_train_step(state, features, labels):
    model, opt = state
    with tf.GradientTape() as tape:
        loss = loss_fn(labels, model({inputs}, training=True))
    grads = tape.gradient(loss, model.trainable_variables)
    {apply}
    return loss
"""

APPLY = "opt.apply_gradients(zip(grads, model.trainable_variables))"

MODULE_MLP = """
class Model(tf.Module):
    def __init__(self):
        super().__init__()
        self.w1 = tf.Variable(tf.zeros([4, 8]), name="hidden/kernel")
        self.b1 = tf.Variable(tf.zeros([8]), name="hidden/bias")
        self.w2 = tf.Variable(tf.zeros([8, 3]), name="out/kernel")
        self.b2 = tf.Variable(tf.zeros([3]), name="out/bias")
        {members}

    def loss(self, features, labels):
        logits = tf.matmul(tf.tanh(tf.matmul(features, self.w1) + self.b1), self.w2) + self.b2
        return tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
        )


VARIABLE_MAP = {{
    "hidden/kernel": "model/w1", "hidden/bias": "model/b1",
    "out/kernel": "model/w2", "out/bias": "model/b2", {extra_map}
}}


def tf2_setup():
    return Model()


def tf2_loss(model, features, labels):
    return model.loss(features, labels)


def tf2_train_step(model, features, labels):
    with tf.GradientTape() as tape:
        loss = model.loss(features, labels)
    variables = [model.w1, model.b1, model.w2, model.b2]
    grads = tape.gradient(loss, variables)
    {update}
    return loss
"""

HEADER = "import keras\nimport numpy as np\nimport tensorflow as tf\n\nSTEPS = 8\n"


def write(
    tmp_path: Path,
    name: str,
    *,
    tf1_optimizer: str = "tf.compat.v1.train.GradientDescentOptimizer(0.5)",
    tf1_extra: str = "",
    train_op: str | None = None,
    optimizer: str = "keras.optimizers.SGD(0.5)",
    setup: str = "",
    apply: str = APPLY,
    tf1_inputs: str = "features",
    port_inputs: str = "features",
    port: str | None = None,
    top: str = "",
) -> Path:
    """A migration file: the TF1 MLP and its Keras port, each with the change asked for."""
    tf1 = TF1_MLP.format(
        inputs=tf1_inputs,
        extra=textwrap.indent(tf1_extra, "    ").strip() or "pass",
        train_op=train_op or f"{tf1_optimizer}.minimize(loss)",
    )
    tf2 = port or KERAS_MLP.format(
        setup=setup or "pass", optimizer=optimizer, apply=apply, inputs=port_inputs
    )
    path = tmp_path / f"{name}.py"
    path.write_text(HEADER + top + DATA + tf1 + tf2)
    return path


def module_port(*, update: str, members: str = "pass", extra_map: str = "") -> str:
    return MODULE_MLP.format(update=update, members=members, extra_map=extra_map)


HAND_SGD = "for v, g in zip(variables, grads):\n        v.assign_sub(0.5 * g)"


def rungs(report) -> str:
    return report.explain()


# --- the optimizer's starting state and settings -----------------------------------------------


def test_a_keras_rmsprop_port_is_different_naming_the_mean_square_it_starts_from(
    tmp_path: Path,
) -> None:
    # TF1's RMSPropOptimizer starts its mean square at ones, Keras's RMSprop at zeros: with TF1's
    # own rho and epsilon the port still trains otherwise from step 0.
    path = write(
        tmp_path,
        "rmsprop",
        tf1_optimizer="tf.compat.v1.train.RMSPropOptimizer(0.01)",
        optimizer="keras.optimizers.RMSprop(0.01, rho=0.9, epsilon=1e-10)",
    )
    report = check_migration(path, strict=True)
    assert report.verdict == "different", report.explain()
    start = [f for f in report.findings if f.rung == "start"]
    assert start and start[0].basis == "setting"
    assert "hidden/kernel/ms" in start[0].message
    assert "starts at 1 in TF1 and 0 in the port" in start[0].message
    assert "TF1RMSprop" in start[0].message
    assert not any("epsilon" in f.message for f in report.findings)


def test_keras_rmsprop_with_its_default_epsilon_names_epsilon_too(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "rmsprop_default",
        tf1_optimizer="tf.compat.v1.train.RMSPropOptimizer(0.01)",
        optimizer="keras.optimizers.RMSprop(0.01)",
    )
    report = check_migration(path, strict=True)
    assert report.verdict == "different"
    messages = " | ".join(f.message for f in report.findings if f.rung in ("start", "setting"))
    assert "epsilon 1e-07 in the port, 1e-10 in TF1" in messages
    assert "starts at 1 in TF1 and 0 in the port" in messages


def test_the_tf1_compatible_rmsprop_port_stays_identical(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "rmsprop_tf1",
        tf1_optimizer="tf.compat.v1.train.RMSPropOptimizer(0.01)",
        optimizer="TF1RMSprop(0.01, rho=0.9, epsilon=1e-10)",
        top="from eagermode.tf1_compatible import TF1RMSprop\n",
    )
    report = check_migration(path, strict=True)
    assert report.verdict in ("identical", "equivalent"), report.explain()
    assert not [f for f in report.findings if f.basis == "setting"]


def test_an_optimizer_that_already_counted_steps_is_different(tmp_path: Path) -> None:
    # Adam's bias correction reads the step count; the ladder sets it to TF1's before a rerun,
    # so only comparing the port's own count first can see it.
    path = write(
        tmp_path,
        "counted",
        tf1_optimizer="tf.compat.v1.train.AdamOptimizer(0.01)",
        optimizer="opt",
        setup=(
            "opt = keras.optimizers.Adam(0.01, epsilon=1e-8)\n"
            "    opt.build(model.trainable_variables)\n"
            "    opt.iterations.assign(100)"
        ),
    )
    report = check_migration(path, strict=True)
    assert report.verdict == "different", report.explain()
    counter = next(f for f in report.findings if f.rung == "start" and "step count" in f.message)
    assert "100 in the port, 0 in TF1" in counter.message


def test_a_learning_rate_schedule_left_out_of_the_port_is_different(tmp_path: Path) -> None:
    # The schedule agrees at step 0 and parts after: TF1's rate is read at each rerun step.
    path = write(
        tmp_path,
        "schedule",
        tf1_extra=(
            "step = tf.compat.v1.train.get_or_create_global_step()\n"
            "rate = tf.compat.v1.train.exponential_decay(0.5, step, 2, 0.5, staircase=True)"
        ),
        train_op=(
            "tf.compat.v1.train.GradientDescentOptimizer(rate).minimize(loss, global_step=step)"
        ),
        optimizer="keras.optimizers.SGD(0.5)",
    )
    report = check_migration(path, strict=True)
    assert report.verdict == "different", report.explain()
    rate = next(f for f in report.findings if "learning rate" in f.message)
    assert rate.basis == "setting"
    assert "0.25 in TF1" in rate.message and "0.5 in the port" in rate.message


def test_the_same_schedule_in_keras_stays_identical(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "schedule_keras",
        tf1_extra=(
            "step = tf.compat.v1.train.get_or_create_global_step()\n"
            "rate = tf.compat.v1.train.exponential_decay(0.5, step, 2, 0.5, staircase=True)"
        ),
        train_op=(
            "tf.compat.v1.train.GradientDescentOptimizer(rate).minimize(loss, global_step=step)"
        ),
        optimizer=(
            "keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(0.5, 2, 0.5, "
            "staircase=True))"
        ),
    )
    report = check_migration(path, strict=True)
    assert report.verdict in ("identical", "equivalent"), report.explain()


WARMUP_TF1 = {
    "tf1_extra": (
        "step = tf.compat.v1.train.get_or_create_global_step()\n"
        "rate = 0.5 * tf.minimum(1.0, tf.cast(step + 1, tf.float32) / 4.0)"
    ),
    "train_op": (
        "tf.compat.v1.train.GradientDescentOptimizer(rate).minimize(loss, global_step=step)"
    ),
}
WARMUP_SCHEDULE = """
class Warmup(keras.optimizers.schedules.LearningRateSchedule):
    def __call__(self, step):
        return 0.5 * tf.minimum(1.0, tf.cast(step + 1, tf.float32) / 4.0)
"""


def assigned_warmup(offset: int) -> str:
    """The warmup written into the step: the optimizer's rate assigned before its update."""
    return (
        "opt.learning_rate.assign(\n"
        f"        0.5 * tf.minimum(1.0, tf.cast(opt.iterations + {offset}, tf.float32) / 4.0)\n"
        f"    )\n    {APPLY}"
    )


@pytest.mark.parametrize(
    ("optimizer", "apply", "top"),
    [
        ("keras.optimizers.SGD(1.0)", assigned_warmup(1), ""),
        ("keras.optimizers.SGD(Warmup())", APPLY, WARMUP_SCHEDULE),
    ],
    ids=["assigned-in-the-step", "schedule-without-get-config"],
)
def test_a_warmup_rate_set_as_keras_users_do_stays_equivalent(
    tmp_path: Path, optimizer: str, apply: str, top: str
) -> None:
    # The rate the port's optimizer applies is read as it applies it: an assign inside the step
    # is not a setting that differs, nor is a schedule Keras cannot serialize a crash.
    path = write(tmp_path, "warmup", optimizer=optimizer, apply=apply, top=top, **WARMUP_TF1)
    report = check_migration(path, strict=True)
    assert report.verdict in ("identical", "equivalent"), report.explain()
    assert not any("learning rate" in f.message for f in report.findings), report.explain()


@pytest.mark.parametrize("strict", [True, False], ids=["strict", "grappler"])
@pytest.mark.parametrize("scheduled", [False, True], ids=["constant", "schedule"])
def test_a_tf1_momentum_port_stays_equivalent_its_slots_compared_as_they_are(
    tmp_path: Path, scheduled: bool, strict: bool
) -> None:
    # TF1Momentum keeps TF1's own slot: it is compared and loaded as it is, never as Keras's
    # -lr x slot (which made a port equal to TF1 bit for bit 'different', 21 x its change).
    rate = "tf.compat.v1.train.exponential_decay(0.5, step, 2, 0.5, staircase=True)"
    keras_rate = "keras.optimizers.schedules.ExponentialDecay(0.5, 2, 0.5, staircase=True)"
    path = write(
        tmp_path,
        "tf1_momentum",
        tf1_extra="step = tf.compat.v1.train.get_or_create_global_step()\n"
        + f"rate = {rate if scheduled else '0.5'}",
        train_op="tf.compat.v1.train.MomentumOptimizer(rate, 0.9).minimize(loss, global_step=step)",
        optimizer=f"TF1Momentum({keras_rate if scheduled else '0.5'}, momentum=0.9)",
        top="from eagermode.tf1_compatible import TF1Momentum\n",
    )
    report = check_migration(path, strict=strict)
    assert report.verdict in ("identical", "equivalent"), report.explain()
    assert report.results[1].max_slot_ulps < 1000, report.explain()  # not Keras-scaled: 2e9


def test_a_rate_a_few_ulps_apart_is_rounding_and_another_rate_a_setting() -> None:
    # (step + 1) / 10 at TF1's step 8 under Grappler (a product by 0.1) against Keras's eager
    # schedule (a division): 0.90000004 and 0.89999998, one ULP apart: no setting differs.
    reference = Reference(np.zeros(1, np.float32), {}, {}, 0.0, [])
    assert learning_rate_findings(reference, 0.8999999761581421, 0.9000000357627869, 8) == []
    (wrong,) = learning_rate_findings(reference, 0.81, 0.9000000357627869, 8)
    assert wrong.basis == "setting" and "0.9 in TF1 and 0.81 in the port" in wrong.message


def test_a_tf1_momentum_port_with_another_momentum_is_different(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "tf1_momentum_wrong",
        tf1_optimizer="tf.compat.v1.train.MomentumOptimizer(0.5, 0.9)",
        optimizer="TF1Momentum(0.5, momentum=0.8)",
        top="from eagermode.tf1_compatible import TF1Momentum\n",
    )
    report = check_migration(path, strict=True)
    assert report.verdict == "different", report.explain()
    assert any(f.basis == "setting" and "momentum" in f.message for f in report.findings)


def test_a_warmup_assigned_a_step_ahead_is_different_naming_the_rate(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "warmup_ahead",
        optimizer="keras.optimizers.SGD(1.0)",
        apply=assigned_warmup(2),
        **WARMUP_TF1,
    )
    report = check_migration(path, strict=True)
    assert report.verdict == "different", report.explain()
    rate = next(f for f in report.findings if "learning rate" in f.message)
    assert rate.basis == "setting" and "0.125 in TF1" in rate.message, rate.message
    assert "0.25 in the port" in rate.message, rate.message


# --- updates that never happen, or happen twice over --------------------------------------------


def test_a_hand_written_update_with_twice_the_learning_rate_is_different(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "twice",
        port=module_port(
            update="for v, g in zip(variables, grads):\n        v.assign_sub(1.0 * g)"
        ),
    )
    report = check_migration(path, strict=True)
    assert report.verdict == "different", report.explain()
    step = next(f for f in report.findings if f.rung == "whole step")
    assert step.relative is not None and step.relative > 0.5


def test_the_right_hand_written_update_stays_identical(tmp_path: Path) -> None:
    path = write(tmp_path, "by_hand", port=module_port(update=HAND_SGD))
    report = check_migration(path, strict=True)
    assert report.verdict in ("identical", "equivalent"), report.explain()


def test_a_port_that_never_updates_is_different(tmp_path: Path) -> None:
    path = write(tmp_path, "frozen", port=module_port(update="pass"))
    report = check_migration(path, strict=True)
    assert report.verdict == "different", report.explain()
    assert any("never" in note and "moved" in note for note in report.notes), report.notes


def test_a_keras_port_that_never_applies_its_gradients_is_different(tmp_path: Path) -> None:
    path = write(tmp_path, "unapplied", apply="pass")
    report = check_migration(path, strict=True)
    assert report.verdict == "different", report.explain()
    assert any(f.rung == "whole step" for f in report.findings)


def test_a_non_trainable_variable_the_port_never_updates_is_different(tmp_path: Path) -> None:
    # TF1 keeps a moving average of the first layer's kernel beside the loss; the port holds the
    # variable and never moves it. The losses agree bit for bit.
    path = write(
        tmp_path,
        "average",
        tf1_extra=(
            "average = tf.compat.v1.get_variable(\n"
            "    'average', [4, 8], trainable=False, initializer=tf.zeros_initializer())\n"
            "with tf.control_dependencies([average.assign(0.9 * average + 0.1 * w1)]):\n"
            "    loss = tf.identity(loss)"
        ),
        port=module_port(
            update=HAND_SGD,
            members='self.average = tf.Variable(tf.zeros([4, 8]), trainable=False, name="avg")',
            extra_map='"average": "model/average"',
        ),
    )
    report = check_migration(path, strict=True)
    assert report.verdict == "different", report.explain()
    assert report.results[1].max_loss_ulps == 0
    assert any(f.variable == "average" for f in report.findings)


def test_a_random_op_only_the_port_draws_is_different(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "noisy",
        port_inputs="features + tf.random.normal(tf.shape(features), stddev=0.05)",
    )
    report = check_migration(path, strict=True)
    assert report.verdict == "different", report.explain()
    assert any(f.rung == "forward pass" for f in report.findings)


# --- a port that rounding carries off the floor, then parts anew --------------------------------

# Keras's Adam rounds its constants otherwise than TF1's kernel: the faithful port leaves the
# floor at step 0 by rounding alone, and the ladder earns it there. Scaling the momentum after
# the update at one later step is a real difference that rerun at step 0 cannot see.
KERAS_ADAM = "keras.optimizers.Adam(0.01, epsilon=1e-8)"


def momentum_scaled(iteration: int, factor: float) -> str:
    return (
        f"{APPLY}\n"
        f"    scale = tf.where(tf.equal(opt.iterations, {iteration}), {factor}, 1.0)\n"
        "    for m in opt._momentums:\n"
        "        m.assign(m * scale)"
    )


def adam_file(tmp_path: Path, name: str, apply: str) -> Path:
    return write(
        tmp_path,
        name,
        tf1_optimizer="tf.compat.v1.train.AdamOptimizer(0.01)",
        optimizer=KERAS_ADAM,
        apply=apply,
        top="STEPS = 12\n",
    )


@pytest.mark.parametrize("factor", [1.5, 1.001])
def test_a_momentum_changed_at_one_later_step_is_different(tmp_path: Path, factor: float) -> None:
    # After the 4th update (step 3): the losses jump at step 5, and the ladder reruns the two
    # steps that moved them. Even a 0.1% change is seen there, in the slots.
    report = check_migration(adam_file(tmp_path, "later", momentum_scaled(4, factor)), strict=True)
    assert report.verdict == "different", report.explain()
    assert report.beyond_floor_step == 0
    assert 3 in report.also_earned_at
    step = next(f for f in report.findings if f.is_real(report.tolerance_ulps))
    assert (step.rung, step.step) == ("whole step", 3)
    assert step.variable.endswith("/Adam"), step.variable  # TF1's name of Adam's momentum


def test_a_momentum_changed_after_the_last_update_is_different(tmp_path: Path) -> None:
    # Nothing reads the slots after the last step: only its rerun can see them.
    report = check_migration(adam_file(tmp_path, "last", momentum_scaled(12, 1.5)), strict=True)
    assert report.verdict == "different", report.explain()
    assert report.also_earned_at == (11,)
    step = next(f for f in report.findings if f.is_real(report.tolerance_ulps))
    assert (step.rung, step.step) == ("whole step", 11)


def test_the_faithful_keras_adam_port_stays_equivalent_with_every_rerun_earned(
    tmp_path: Path,
) -> None:
    report = check_migration(adam_file(tmp_path, "faithful", APPLY), strict=True)
    assert report.verdict == "equivalent", report.explain()
    assert report.beyond_floor_step == 0 and report.also_earned_at == (11,)
    assert "as at step 11" in report.explain()


# --- TF1 code that trains nothing ----------------------------------------------------------------


@pytest.mark.parametrize("train_op", ["tf.no_op()", "tf.identity(loss)"], ids=["no_op", "identity"])
def test_a_tf1_train_op_that_changes_no_variable_is_refused(tmp_path: Path, train_op: str) -> None:
    path = write(tmp_path, "untrained", train_op=train_op)
    with pytest.raises(ContractError) as raised:
        check_migration(path, strict=True)
    message = str(raised.value)
    assert message.startswith(f"{path}: tf1_train()'s train_op changed no variable")
    assert "optimizer.minimize(loss)" in message


def test_the_refusal_is_exit_2_in_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, "untrained", train_op="tf.no_op()")
    result = CliRunner().invoke(tfbridge, ["check", str(path), "--strict"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "train_op changed no variable" in result.output


# --- embeddings: sparse gradients on both sides --------------------------------------------------

EMBEDDING = """
import keras
import numpy as np
import tensorflow as tf

STEPS = 6


def data():
    rng = np.random.default_rng(5)
    ids = rng.integers(0, 12, size=(64, 3)).astype(np.int32)  # ids 12..19 are never looked up
    return ids, (ids[:, 0] % 3).astype(np.int32)


def tf1_train(ids, labels):
    embedding = tf.compat.v1.get_variable("embedding", [20, 6])
    with tf.compat.v1.variable_scope("out"):
        w = tf.compat.v1.get_variable("kernel", [6, 3])
        b = tf.compat.v1.get_variable("bias", [3], initializer=tf.zeros_initializer())
    h = tf.reduce_mean(tf.nn.embedding_lookup(embedding, ids), axis=1)
    loss = tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=tf.matmul(h, w) + b)
    )
    return loss, tf.compat.v1.train.{tf1_optimizer}.minimize(loss)


def tf2_setup():
    model = keras.Sequential(
        [
            keras.Input((3,), dtype="int32"),
            keras.layers.Embedding(20, 6, name="embedding"),
            keras.layers.GlobalAveragePooling1D(),
            keras.layers.Dense(3, name="out"),
        ]
    )
    return model, keras.optimizers.{optimizer}


loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def tf2_train_step(state, ids, labels):
    model, opt = state
    with tf.GradientTape() as tape:
        loss = loss_fn(labels, model(ids, training=True))
    grads = tape.gradient(loss, model.trainable_variables)
    {densify}
    opt.apply_gradients(zip(grads, model.trainable_variables))
    return loss
"""


def embedding(tmp_path: Path, name: str, tf1: str, port: str, densify: bool = False) -> Path:
    path = tmp_path / f"{name}.py"
    path.write_text(
        EMBEDDING.format(
            tf1_optimizer=tf1,
            optimizer=port,
            densify="grads = [tf.convert_to_tensor(g) for g in grads]" if densify else "pass",
        )
    )
    return path


def test_an_embedding_port_with_a_wrong_learning_rate_is_different_naming_it(
    tmp_path: Path,
) -> None:
    path = embedding(tmp_path, "embedding_lr", "GradientDescentOptimizer(0.5)", "SGD(0.1)")
    report = check_migration(path, strict=True)
    assert report.verdict == "different", report.explain()
    assert any(
        f.basis == "setting"
        and "learning rate at step 0: 0.5 in TF1 and 0.1 in the port" in f.message
        for f in report.findings
    ), report.explain()


@pytest.mark.parametrize("densify", [False, True], ids=["sparse", "densified"])
def test_an_embedding_port_is_checked_without_a_traceback(tmp_path: Path, densify: bool) -> None:
    # Keras's Adam on sparse gradients against TF1's _apply_sparse: not bit-equal, but no crash
    # and the ladder's rungs all run on the densified gradients.
    path = embedding(
        tmp_path,
        "embedding_adam",
        "AdamOptimizer(0.01, epsilon=1e-7)",
        "Adam(0.01)",
        densify=densify,
    )
    result = CliRunner().invoke(tfbridge, ["check", str(path), "--strict", "--json"])
    assert result.exit_code in (0, 1), result.output
    records = json.loads(result.stdout)
    assert [r["mode"] for r in records] == ["graph", "eager", "function"]


def test_a_faithful_embedding_port_passes(tmp_path: Path) -> None:
    path = embedding(tmp_path, "embedding_sgd", "GradientDescentOptimizer(0.5)", "SGD(0.5)")
    report = check_migration(path, strict=True)
    assert report.verdict in ("identical", "equivalent"), report.explain()


# --- what the report says ------------------------------------------------------------------------


def test_each_style_has_its_own_verdict_and_relative_distances(tmp_path: Path) -> None:
    path = write(tmp_path, "unapplied", apply="pass")
    result = CliRunner().invoke(tfbridge, ["check", str(path), "--strict", "--json"])
    assert result.exit_code == 1, result.output
    records = json.loads(result.stdout)
    graph, eager, function = records
    assert graph["style_verdict"] == "reference"
    assert eager["style_verdict"] == function["style_verdict"] == "different"
    assert all(r["verdict"] == "different" for r in records)
    assert eager["loss_relative_distance"] > 0
    assert eager["param_relative_distance"] > 0
    assert "noise_floor_slot_ulps" in eager and "noise_floor_param_relative" in eager
    # Variables differ after step 0's update, before any loss can show it.
    assert eager["first_divergent_step"] == 0
    assert eager["first_divergent_variable"] is not None


# --- one style of the port against the other ----------------------------------------------------


def traced_apart(tmp_path: Path, name: str, eager: str, traced: str) -> Path:
    """A port whose gradients are scaled by `eager` in the eager step and by `traced` in the
    tf.function one: Python that runs only while tracing, as `tf.executing_eagerly()` tells."""
    apply = (
        f"scale = {eager} if tf.executing_eagerly() else {traced}\n"
        "    opt.apply_gradients(zip([g * scale for g in grads], model.trainable_variables))"
    )
    return write(tmp_path, name, apply=apply, top="STEPS = 6\n")


@pytest.mark.parametrize(
    ("eager", "traced", "wrong", "strict"),
    [
        ("1.0", "1.001", "function", True),
        ("1.0", "1.001", "function", False),
        ("1.001", "1.0", "eager", True),
        ("1.001", "1.0", "eager", False),
        # Only with Grappler off: its rewrites move a traced Adam step by 2e-4 of its change.
        ("1.0", "1.0001", "function", True),
    ],
    ids=[
        "wrong-in-function-strict",
        "wrong-in-function-grappler",
        "wrong-in-eager-strict",
        "wrong-in-eager-grappler",
        "slightly-wrong-in-function-strict",
    ],
)
def test_a_port_wrong_in_one_style_alone_is_different_in_that_style(
    tmp_path: Path, eager: str, traced: str, wrong: str, strict: bool
) -> None:
    # The eager port's reruns from TF1's values must not earn the traced port's equivalence
    # (nor the reverse): each style is rerun itself where its run is not the other's. A step
    # 0.01% off is within what the libraries' arithmetic explains against TF1, but not against
    # the eager port's own step from the same values (the "traced step" rung), with --strict.
    path = traced_apart(tmp_path, "traced", eager, traced)
    result = CliRunner().invoke(
        tfbridge, ["check", str(path), "--json", *(["--strict"] if strict else [])]
    )
    assert result.exit_code == 1, result.output
    _, *ports = json.loads(result.stdout)
    verdicts = {record["mode"]: record["style_verdict"] for record in ports}
    right = "eager" if wrong == "function" else "function"
    assert verdicts[wrong] == "different", verdicts
    assert verdicts[right] in ("identical", "equivalent"), verdicts
    graph = json.loads(result.stdout)[0]  # the check's findings and reruns are the graph's
    real = [f for f in graph["findings"] if f["real"]]
    assert real and {f["style"] for f in real} == {wrong}, graph["findings"]
    assert wrong in {run["style"] for run in graph["ladder"]}


def test_a_port_wrong_only_under_tf_function_is_different_against_a_recording_too(
    tmp_path: Path,
) -> None:
    # No TF1 to ask for gradients: the traced port's own forward pass and whole step, at the
    # recorded steps, are what must not earn it.
    path = traced_apart(tmp_path, "traced", "1.0", "1.001")
    record_migration(path, tmp_path / "recording", strict=True)
    report = check_migration(path, against=tmp_path / "recording", strict=True)
    assert report.verdict == "different", report.explain()
    assert report.style_verdict("function") == "different"
    assert report.style_verdict("eager") in ("identical", "equivalent")
    assert any(f.style == "function" and f.is_real(64) for f in report.findings)
    assert "(function style) differs by" in report.explain().splitlines()[0]


def test_a_traced_port_that_repeats_the_eager_one_is_judged_by_its_reruns(tmp_path: Path) -> None:
    # The usual case: the tf.function port's run is the eager port's bit for bit, so it is not
    # rerun again: the eager port's reruns stand for it.
    report = check_migration(adam_file(tmp_path, "faithful", APPLY), strict=True)
    eager, function = report.results[1:]
    assert function.ladder_style == "eager" and eager.ladder_style is None
    assert {run.style for run in report.ladder} == {"eager"}
    assert report.style_verdict("function") == report.style_verdict("eager") == "equivalent"


KERAS_STEP = """
loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def tf2_train_step(state, features, labels):
    model, opt = state
    with tf.GradientTape() as tape:
        loss = loss_fn(labels, model(features, training=True))
    grads = tape.gradient(loss, model.trainable_variables)
    opt.apply_gradients(zip(grads, model.trainable_variables))
    return loss
"""

# --- TF1 code with its own mistakes --------------------------------------------------------------

BATCH_NORM = (
    """
import keras
import numpy as np
import tensorflow as tf

STEPS = 4
BATCH_SIZE = 32


def data():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(64, 5)).astype(np.float32)
    return x, (x[:, 0] > 0).astype(np.int32)


def tf1_train(features, labels):
    hidden = tf.compat.v1.layers.dense(features, 6, use_bias=False, name="dense")
    hidden = tf.compat.v1.layers.batch_normalization(
        hidden, momentum=0.9, training=True, name="bn"
    )
    logits = tf.compat.v1.layers.dense(tf.nn.relu(hidden), 2, name="logits")
    loss = tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    )
    optimizer = tf.compat.v1.train.GradientDescentOptimizer(0.1)
    {train_op}


def tf2_setup():
    model = keras.Sequential(
        [
            keras.Input((5,)),
            keras.layers.Dense(6, use_bias=False, name="dense"),
            keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-3, name="bn"),
            keras.layers.ReLU(),
            keras.layers.Dense(2, name="logits"),
        ]
    )
    return model, keras.optimizers.SGD(0.1)

"""
    + KERAS_STEP
)
UPDATE_OPS = """updates = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)
    with tf.control_dependencies(updates):
        return loss, optimizer.minimize(loss)"""


def test_tf1_batch_norm_without_its_update_ops_is_different_naming_them(tmp_path: Path) -> None:
    # A classic TF1 mistake: UPDATE_OPS never run, so TF1's moving statistics never move and
    # the port's do. `different`, saying so, and valid JSON (TF1's change is zero: the
    # relative difference is infinite, written as "inf").
    path = tmp_path / "no_update_ops.py"
    path.write_text(BATCH_NORM.replace("{train_op}", "return loss, optimizer.minimize(loss)"))
    result = CliRunner().invoke(tfbridge, ["check", str(path), "--strict", "--json"])
    assert result.exit_code == 1, result.output
    findings = json.loads(result.stdout)[0]["findings"]
    moved = next(f for f in findings if f["rung"] == "non-trainable update")
    assert moved["relative"] == "inf" and moved["real"], moved
    assert "never moves" in moved["message"] and "UPDATE_OPS" in moved["message"], moved
    assert "momentum" not in moved["message"], moved


def test_tf1_batch_norm_with_its_update_ops_and_its_keras_port_stay_equivalent(
    tmp_path: Path,
) -> None:
    path = tmp_path / "update_ops.py"
    path.write_text(BATCH_NORM.replace("{train_op}", UPDATE_OPS))
    report = check_migration(path, strict=True)
    assert report.verdict in ("identical", "equivalent"), report.explain()


CONV_BATCH_NORM = (
    """
import keras
import numpy as np
import tensorflow as tf

STEPS = 3
BATCH_SIZE = 16


def data():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(48, 4, 4, 1)).astype(np.float32)
    return x, (x[:, 0, 0, 0] > 0).astype(np.int32)


def tf1_train(features, labels):
    hidden = tf.compat.v1.layers.conv2d(features, 3, 2, use_bias=False, name="conv")
    hidden = tf.compat.v1.layers.batch_normalization(hidden, training=True, name="bn"{fused})
    hidden = tf.compat.v1.layers.flatten(tf.nn.relu(hidden))
    logits = tf.compat.v1.layers.dense(hidden, 2, name="logits")
    loss = tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    )
    updates = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)
    with tf.control_dependencies(updates):
        return loss, tf.compat.v1.train.GradientDescentOptimizer(0.1).minimize(loss)


def tf2_setup():
    model = keras.Sequential(
        [
            keras.Input((4, 4, 1)),
            keras.layers.Conv2D(3, 2, use_bias=False, name="conv"),
            keras.layers.BatchNormalization(momentum=0.99, epsilon=1e-3, name="bn"),
            keras.layers.ReLU(),
            keras.layers.Flatten(),
            keras.layers.Dense(2, name="logits"),
        ]
    )
    return model, keras.optimizers.SGD(0.1)

"""
    + KERAS_STEP
)


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "unfused"])
def test_tf1_fused_batch_norm_moves_its_variance_unbiased_and_says_so(
    tmp_path: Path, fused: bool
) -> None:
    # tf.compat.v1.layers.batch_normalization fuses on 4-D inputs by default, and its fused
    # kernel moves moving_variance toward the unbiased batch variance (n / (n - 1) of Keras's):
    # the port's statistics differ (`different`), and the finding says why, not "momentum".
    path = tmp_path / "conv_bn.py"
    path.write_text(CONV_BATCH_NORM.replace("{fused}", "" if fused else ", fused=False"))
    report = check_migration(path, strict=True)
    if not fused:
        assert report.verdict in ("identical", "equivalent"), report.explain()
        return
    assert report.verdict == "different", report.explain()
    moved = next(f for f in report.findings if f.rung == "non-trainable update")
    assert "moving_variance" in moved.variable and "unbiased" in moved.message, moved.message
    assert "momentum" not in moved.message, moved.message


GRU_ADAM = Path(__file__).resolve().parent / "migrations" / "gru_adam.py"


@pytest.mark.slow
def test_a_faithful_gru_port_stays_equivalent_though_its_traced_step_rounds_otherwise() -> None:
    # Keras's GRU traced rounds otherwise than run eagerly, Grappler off: the traced step is
    # 74 ULPs (2.2e-4 of its change) from the eager port's, beyond the tolerance, and was once
    # `different`. It lands no nearer the eager port's step than TF1's does, so it is the two
    # styles' arithmetic.
    report = check_migration(GRU_ADAM, strict=True)
    assert report.verdict == "equivalent", report.explain()
    assert report.style_verdict("function") == "equivalent", report.explain()
    traced = [f for f in report.findings if f.rung == "traced step"]
    assert all(not f.is_real(64) for f in traced), traced


@pytest.mark.slow
@pytest.mark.parametrize("scale", ["1.0001", "0.9999"])
def test_a_gru_port_wrong_only_under_tf_function_is_different(tmp_path: Path, scale: str) -> None:
    # The negative beside the rule above: a trace that is wrong moves its step away from TF1's,
    # further than the eager port's own step, and the traced step is judged by its ULPs. Its
    # gradients 0.01% off either way are within the arithmetic explained against TF1 (these
    # pass if every traced step is judged as arithmetic), not against the eager port.
    path = tmp_path / "gru_traced.py"
    path.write_text(
        GRU_ADAM.read_text().replace(
            "scale = 1.0  # the tests write other scales here",
            f"scale = 1.0 if tf.executing_eagerly() else {scale}",
        )
    )
    report = check_migration(path, strict=True)
    assert report.verdict == "different", report.explain()
    assert report.style_verdict("function") == "different", report.explain()
    assert report.style_verdict("eager") in ("identical", "equivalent"), report.explain()
    assert any(f.style == "function" and f.is_real(64) for f in report.findings)
