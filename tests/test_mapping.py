"""Pairing TF1 variables with the port's: names, synonyms, creation order, and every refusal."""

from __future__ import annotations

import pytest

from tfmigration.migration.mapping import MappingError, VariableInfo, infer_mapping


def info(name: str, shape: tuple[int, ...], order: int, trainable: bool = True) -> VariableInfo:
    return VariableInfo(name, shape, "float32", trainable, order)


TF1 = [
    info("classifier/hidden/weights", (64, 32), 0),
    info("classifier/hidden/biases", (32,), 1),
    info("classifier/logits/weights", (32, 10), 2),
    info("classifier/logits/biases", (10,), 3),
]


def pairs_of(result: list) -> dict[str, tuple[str, str]]:
    return {pair.tf1.name: (pair.tf2.name, pair.how) for pair in result}


def test_keras_paths_pair_by_scope_and_leaf_synonyms() -> None:
    keras = [
        info("sequential/logits/kernel", (32, 10), 2),
        info("sequential/hidden/kernel", (64, 32), 0),
        info("sequential/hidden/bias", (32,), 1),
        info("sequential/logits/bias", (10,), 3),
    ]
    assert pairs_of(infer_mapping(TF1, keras)) == {
        "classifier/hidden/weights": ("sequential/hidden/kernel", "name"),
        "classifier/hidden/biases": ("sequential/hidden/bias", "name"),
        "classifier/logits/weights": ("sequential/logits/kernel", "name"),
        "classifier/logits/biases": ("sequential/logits/bias", "name"),
    }


def test_unrelated_names_pair_in_creation_order_within_each_kind() -> None:
    keras = [
        info("sequential/dense/kernel", (64, 32), 0),
        info("sequential/dense/bias", (32,), 1),
        info("sequential/dense_1/kernel", (32, 10), 2),
        info("sequential/dense_1/bias", (10,), 3),
    ]
    assert pairs_of(infer_mapping(TF1, keras)) == {
        "classifier/hidden/weights": ("sequential/dense/kernel", "order"),
        "classifier/hidden/biases": ("sequential/dense/bias", "order"),
        "classifier/logits/weights": ("sequential/dense_1/kernel", "order"),
        "classifier/logits/biases": ("sequential/dense_1/bias", "order"),
    }


def test_variable_map_overrides_the_inferred_pairing() -> None:
    module = [
        info("mlp/first/w", (64, 32), 0),
        info("mlp/first/b", (32,), 1),
        info("mlp/second/w", (32, 10), 2),
        info("mlp/second/b", (10,), 3),
    ]
    result = infer_mapping(TF1, module, {"classifier/logits/biases": "mlp/second/b"})
    assert pairs_of(result)["classifier/logits/biases"] == ("mlp/second/b", "VARIABLE_MAP")
    assert pairs_of(result)["classifier/hidden/weights"] == ("mlp/first/w", "order")


def test_a_shape_mismatch_names_both_variables_and_both_shapes() -> None:
    keras = [
        info("sequential/hidden/kernel", (64, 30), 0),
        info("sequential/hidden/bias", (30,), 1),
        info("sequential/logits/kernel", (30, 10), 2),
        info("sequential/logits/bias", (10,), 3),
    ]
    with pytest.raises(MappingError) as raised:
        infer_mapping(TF1, keras, source="port.py")
    message = str(raised.value)
    assert message.startswith("port.py: the TF1 and TF2 variables cannot be paired one to one (3")
    assert (
        "'classifier/hidden/weights' [64, 32] is paired (name) with 'sequential/hidden/kernel' "
        "[64, 30]: the shapes differ" in message
    )
    assert "'classifier/hidden/biases' [32] is paired (name) with" in message


def test_a_transposed_kernel_is_named_as_such() -> None:
    keras = [
        info("sequential/hidden/kernel", (32, 64), 0),
        info("sequential/hidden/bias", (32,), 1),
        info("sequential/logits/kernel", (32, 10), 2),
        info("sequential/logits/bias", (10,), 3),
    ]
    with pytest.raises(MappingError, match=r"\[32, 64\]: the shape is transposed"):
        infer_mapping(TF1, keras)


def test_an_unpaired_variable_names_the_nearest_candidates_and_the_line_to_add() -> None:
    keras = [
        info("sequential/hidden/kernel", (64, 32), 0),
        info("sequential/hidden/bias", (32,), 1),
        info("sequential/logits/kernel", (32, 10), 2),
        info("sequential/extra/gamma", (10,), 3),
    ]
    with pytest.raises(MappingError) as raised:
        infer_mapping(TF1, keras)
    message = str(raised.value)
    assert "TF1 variable 'classifier/logits/biases' [10] has no counterpart in the port" in message
    assert "nearest: 'sequential/extra/gamma' [10]" in message
    assert "add VARIABLE_MAP = {'classifier/logits/biases': 'sequential/extra/gamma'}" in message
    assert "the port's variable 'sequential/extra/gamma' [10] has no counterpart in TF1" in message


def test_variable_map_naming_what_does_not_exist_is_refused_with_the_nearest_names() -> None:
    with pytest.raises(MappingError) as raised:
        infer_mapping(TF1, TF1, {"classifier/hiden/weights": "classifier/hidden/weights"})
    message = str(raised.value)
    assert "VARIABLE_MAP names TF1 variable 'classifier/hiden/weights', which TF1" in message
    assert "nearest: 'classifier/hidden/weights'" in str(raised.value)


def test_a_dtype_mismatch_is_refused() -> None:
    keras = [VariableInfo(i.name, i.shape, "float64", True, i.order) for i in TF1]
    with pytest.raises(MappingError, match="float32 in TF1, float64 in the port"):
        infer_mapping(TF1, keras)
