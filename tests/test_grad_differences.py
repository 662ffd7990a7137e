"""The TF1/TF2 autodiff differences: what each style does, case by case, pinned."""

from __future__ import annotations

import pytest

from bridge.styles import difference_observer
from tfmigration.catalog.differences import DIFFERENCES, error_text, get_difference, show
from tfmigration.catalog.errors import ConfigError

ONE_SHOT_ERROR = (
    "RuntimeError: A non-persistent GradientTape can only be used to compute one set of "
    "gradients (or jacobians)"
)
TAPE = ("eager", "function")


def observe(style: str, name: str) -> dict[str, str]:
    return difference_observer(style)(name)


@pytest.mark.parametrize("name", list(DIFFERENCES))
def test_each_style_reports_the_registered_cases_in_order(name: str, style: str) -> None:
    difference = DIFFERENCES[name]
    observations = observe(style, name)
    assert list(observations) == [case for case in difference.cases if case in observations]
    assert observations, "a style listed for a difference shows at least one case"


def test_second_gradient_call_on_a_graph_works() -> None:
    assert observe("graph", "one-shot-tape") == {
        "first gradient": "6.0",
        "second gradient": "6.0",
    }


@pytest.mark.parametrize("style", TAPE)
def test_second_gradient_call_on_a_one_shot_tape_raises(style: str) -> None:
    # TensorFlow's own message, caught: eagerly at the call, under tf.function while tracing.
    assert observe(style, "one-shot-tape") == {
        "first gradient": "6.0",
        "second gradient": ONE_SHOT_ERROR,
        "second gradient, persistent=True": "6.0",
    }


def test_tf_gradients_differentiates_any_tensor() -> None:
    assert observe("graph", "watched") == {
        "x = Variable(3.0)": "6.0",
        "x = Variable(3.0, trainable=False)": "6.0",
        "x = constant(3.0)": "6.0",
    }


@pytest.mark.parametrize("style", TAPE)
def test_tape_watches_trainable_variables_only(style: str) -> None:
    assert observe(style, "watched") == {
        "x = Variable(3.0)": "6.0",
        "x = Variable(3.0, trainable=False)": "None",
        "x = Variable(3.0, trainable=False), tape.watch(x)": "6.0",
        "x = Variable(3.0), watch_accessed_variables=False": "None",
        "x = Variable(3.0), watch_accessed_variables=False, tape.watch(x)": "6.0",
        "x = constant(3.0)": "None",
        "x = constant(3.0), tape.watch(x)": "6.0",
    }


def test_unconnected_source_is_none_or_zero_on_request(style: str) -> None:
    assert observe(style, "unconnected") == {
        "dy/da": "6.0",
        "dy/db": "None",
        "dy/db, unconnected_gradients=ZERO": "0.0",
    }


def test_stop_gradient_blocks_the_gradient_not_the_value(style: str) -> None:
    assert observe(style, "stop-gradient") == {
        "y = x * x: y, dy/dx": "[9.0, 6.0]",
        "y = x * stop_gradient(x): y, dy/dx": "[9.0, 3.0]",
        "y = stop_gradient(x * x): y, dy/dx": "[9.0, None]",
    }


def test_gradient_of_a_vector_sums_the_jacobian_rows(style: str) -> None:
    assert observe(style, "jacobian") == {
        "gradient of y": "[3.0, 2.0]",
        "Jacobian dy/dx": "[[2.0, 1.0], [1.0, 1.0]]",
    }


def test_variable_dtypes_and_trainable_flag(style: str) -> None:
    observations = observe(style, "variables")
    assert observations["Variable(1).dtype"] == "int32"
    assert observations["Variable(1.0).dtype"] == "float32"
    assert observations["Variable(np.array([1.0])).dtype"] == "float64"
    assert observations["Variable(1.0).trainable"] == "True"
    assert observations["Variable(1.0, trainable=False).trainable"] == "False"


def test_assign_ops_wait_for_session_run_in_a_graph() -> None:
    observations = observe("graph", "variables")
    assert observations["x = Variable(3.0); x.assign(5.0)"] == "3.0 until Session.run(op), then 5.0"
    assert (
        observations["x = Variable(3.0); x.assign_add(1.0)"]
        == "3.0 until Session.run(op), then 4.0"
    )
    assert (
        observations["x = Variable(3.0); x.assign_sub(1.0)"]
        == "3.0 until Session.run(op), then 2.0"
    )


@pytest.mark.parametrize("style", TAPE)
def test_assign_ops_act_at_once_in_eager_and_tf_function(style: str) -> None:
    observations = observe(style, "variables")
    assert observations["x = Variable(3.0); x.assign(5.0)"] == "5.0 at once"
    assert observations["x = Variable(3.0); x.assign_add(1.0)"] == "4.0 at once"
    assert observations["x = Variable(3.0); x.assign_sub(1.0)"] == "2.0 at once"


def test_a_variable_is_not_a_tensor(style: str) -> None:
    observations = observe(style, "variables")
    assert observations["type(x)"] == "ResourceVariable"
    assert observations["isinstance(x, tf.Variable)"] == "True"
    assert observations["isinstance(x, tf.Tensor)"] == "False"
    assert observations["tf.is_tensor(x)"] == "True"
    tensor = {"graph": "SymbolicTensor", "eager": "EagerTensor", "function": "SymbolicTensor"}
    assert observations["type(x * 1.0)"] == tensor[style]


def test_show_and_error_text() -> None:
    assert show(None) == "None"
    assert show([1.5, None]) == "[1.5, None]"
    assert show(b"text") == "text"
    wrapped = RuntimeError("in user code:\n\n    File x\n\n    RuntimeError: the real one\n")
    assert error_text(wrapped) == "RuntimeError: the real one"


def test_unknown_difference_names_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match="unknown difference 'tape'; choose one of: one-shot"):
        get_difference("tape")
