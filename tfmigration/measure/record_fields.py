"""Every JSON record the command lines print, field by field: the one declared table.

The records are plain dicts built next to what they describe (`tfmigration.serialize.
trajectory_record`, `report.comparison_records`, `demo_comparison.demo_records`,
`migration_report.CheckReport.records`, `layer_report.LayerComparison.record`,
`inference_report.InferenceReport.records`, `cli.grad_commands.demo_record`). This table says what
each key means; `scripts/gen_docs.py` writes docs/json.md from it, and tests/test_docs.py holds
the keys each builder makes equal to the table's, so neither can drift from the other.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    name: str
    description: str
    when: str | None = None  # present only then; None: in every record of its kind


@dataclass(frozen=True)
class RecordKind:
    title: str  # the command that prints it, or the field that holds it
    anchor_note: str  # one line: one record per what
    fields: tuple[Field, ...]

    def names(self, *, optional: bool = True) -> set[str]:
        return {f.name for f in self.fields if optional or f.when is None}


_FLOATS = "exact: a float32 in its shortest form that reads back to the same float32"
_RESUMED = "a resumed run"
_REPLICATED = "`--replicas` 2 or more"

TRAIN = RecordKind(
    "train --json",
    "One record per run (`graphmode`, `eagermode` or `tfbridge train`).",
    (
        Field("model", "the catalog model's name"),
        Field("mode", "the style: `graph`, `eager` or `function`"),
        Field("steps", "the steps trained, in total"),
        Field("losses", f"`losses[i]` is the loss before step i's update ({_FLOATS})"),
        Field(
            "final_loss",
            "one more forward pass at the final parameters (on the whole data set for minibatch "
            "models)",
        ),
        Field("params", "the final parameters by name, nested lists"),
        Field("slots", "the optimizer's slot variables by name (`{}` for `gd`)"),
        Field("seconds", "the training loop's wall time"),
        Field("first_step", "the step the run resumed at: `losses` start there", _RESUMED),
        Field("replicas", "the replica count", _REPLICATED),
    ),
)

COMPARE = RecordKind(
    "tfbridge compare --json",
    "One record per model and style (demos' records follow, as `compare` demo records below).",
    (
        Field("model", "the catalog model's name"),
        Field("mode", "the style: `graph`, `eager` or `function`"),
        Field("optimizer", "the optimizer's name (`--optimizer`)"),
        Field("defaults", "how the hyperparameters were carried over (`--defaults`)"),
        Field("final_loss", "this style's loss at its final parameters"),
        Field("params", "this style's final parameters by name"),
        Field(
            "max_loss_ulps",
            "the largest ULP distance between this style's loss and graph style's, over every "
            "step's loss and the final loss",
        ),
        Field("max_param_ulps", "the largest ULP distance over the final parameters"),
        Field(
            "max_slot_ulps",
            "the largest ULP distance over the optimizer's slot variables (momentum, Adam's m and "
            "v, ...)",
        ),
        Field(
            "first_divergent_step",
            "the first step whose loss differs from graph's (the step count: only the final loss, "
            "parameters or slots differ); null when the style matches graph everywhere",
        ),
        Field(
            "noise_floor_ulps",
            "graph style rerun from its initial values nudged by one ULP: its loss ULPs from "
            "graph (null where no floor was run)",
        ),
        Field("noise_floor_param_ulps", "the same rerun's parameter ULPs"),
        Field("noise_floor_slot_ulps", "the same rerun's slot ULPs"),
        Field(
            "oracle_rel_error",
            "the element nearest its bound (or furthest beyond it) against the NumPy float64 "
            "oracle, by its own relative error |x - oracle| / |oracle|",
        ),
        Field(
            "oracle_bound", "the relative error allowed: the model's bound, widened by the floor"
        ),
        Field("oracle_worst", "which element that is (e.g. `loss at step 341`, `W[1, 0]`)"),
        Field("seconds", "the style's training wall time"),
        Field("strict", "Grappler and oneDNN off (`--strict`)"),
        Field("steps_per_call", "steps per call of a fused loop (`--steps-per-call`)"),
        Field("jit_compile", "tf.function style compiled with XLA (`--jit-compile`)"),
        Field("variables", "graph style's variables: `ref` or `resource` (`--variables`)"),
        Field("tolerance_ulps", "the ULPs allowed for `equivalent (within tolerance)`"),
        Field("style_verdict", "this style's own verdict (e.g. `equivalent (within noise floor)`)"),
        Field("verdict", "the model's verdict over every style"),
        Field("verdict_basis", "what the model's verdict rests on (null for `identical`)"),
        Field("replicas", "the replica count (1: one device)"),
        Field("reference", "`split-batch`: what every style is measured against", _REPLICATED),
        Field("replication", "what ran and how the loss was scaled", _REPLICATED),
        Field(
            "one_device_loss_ulps",
            "loss ULPs from one device on the whole batch",
            _REPLICATED,
        ),
        Field("one_device_param_ulps", "parameter ULPs from one device", _REPLICATED),
        Field(
            "one_device_noise_floor_ulps",
            "one device's own rerun from a 1-ULP nudge: its loss ULPs",
            _REPLICATED,
        ),
        Field(
            "one_device_noise_floor_param_ulps",
            "the same rerun's parameter ULPs",
            _REPLICATED,
        ),
        Field("one_device_verdict", "the verdict against one device", _REPLICATED),
        Field(
            "one_device_within_noise_floor",
            "whether the distance to one device lies within one device's noise floor",
            _REPLICATED,
        ),
        Field(
            "one_device_judgement",
            "one line: the verdict against one device and where it stands to its floor",
            _REPLICATED,
        ),
    ),
)

COMPARE_DEMO = RecordKind(
    "tfbridge compare --json, demos",
    "One record per autodiff demo and style, in the same list as the models' records.",
    (
        Field("model", "the demo's name (the key training records use, so one list holds both)"),
        Field("kind", "`demo` (training records have none)"),
        Field("mode", "the style: `graph`, `eager` or `function`"),
        Field("results", "each quantity by name, a number or nested list, in print order"),
        Field(
            "max_ulps",
            "the largest ULP distance from graph style over every element of every quantity",
        ),
        Field(
            "first_divergent_quantity",
            "the first quantity (print order) that differs from graph, or null",
        ),
        Field(
            "oracle_rel_error",
            "the largest relative error from the oracle, element by element; beyond the bound the "
            "demo is `different`, whatever the ULPs say",
        ),
        Field("seconds", "the style's wall time"),
        Field("strict", "Grappler and oneDNN off (`--strict`)"),
        Field("tolerance_ulps", "the ULPs allowed for `equivalent`"),
        Field("verdict", "the demo's verdict over every style"),
    ),
)

GRAD = RecordKind(
    "grad --json",
    "One record per demo and style (`graphmode`, `eagermode` or `tfbridge grad`).",
    (
        Field("demo", "the demo's name"),
        Field("mode", "the style: `graph`, `eager` or `function`"),
        Field("results", "each quantity by name: a number or nested list"),
    ),
)

CHECK = RecordKind(
    "tfbridge check --json",
    "One record per style (graph, TF1's own run, first), for a training check.",
    (
        Field("model", "the migration file's stem"),
        Field("mode", "`graph` (TF1), `eager` or `function` (the port)"),
        Field("losses", "every step's loss, before the step's update"),
        Field("max_loss_ulps", "the largest ULP distance from TF1 over every step's loss"),
        Field(
            "max_param_ulps",
            "the largest over every paired variable after every update",
        ),
        Field(
            "max_slot_ulps",
            "the largest over every optimizer slot both sides keep, at every step until the "
            "port first parts from TF1 and at the last",
        ),
        Field("first_divergent_step", "the first step whose loss differs; null if none"),
        Field(
            "first_divergent_variable",
            "the first paired variable, in TF1's creation order, that differs after that step's "
            "update",
        ),
        Field("variable_map", "the pairing: TF1 name -> port name"),
        Field(
            "first_difference",
            "what differed first: `loss`, a TF1 variable name, or `slot <tf1name/slot>`",
        ),
        Field(
            "loss_relative_distance",
            "normwise: max|port - TF1| / max|TF1| over the loss curve",
        ),
        Field("param_relative_distance", "the same for the worst variable at any compared step"),
        Field(
            "noise_floor_ulps",
            "TF1 rerun with every variable nudged one ULP after every update: its loss ULPs "
            "(null where the port was identical and no floor ran)",
        ),
        Field("noise_floor_param_ulps", "the same rerun's variable ULPs"),
        Field("noise_floor_slot_ulps", "the same rerun's slot ULPs"),
        Field("noise_floor_loss_relative", "the same rerun's normwise loss distance"),
        Field("noise_floor_param_relative", "the same rerun's normwise variable distance"),
        Field(
            "findings",
            "on the graph record (empty on the others): each rung of the ladder that differs, "
            "fields below",
        ),
        Field(
            "layers",
            "on the graph record, where the forward pass differs: each port layer, fields below",
        ),
        Field("seconds", "the style's wall time"),
        Field("steps", "the steps run (`--steps`)"),
        Field("batch_size", "the batch size (`--batch-size`; null: the whole data set)"),
        Field("seed", "the seed of the batches and TF1's graph (`--seed`)"),
        Field("strict", "Grappler and oneDNN off (`--strict`)"),
        Field("tolerance_ulps", "the ULPs allowed at equal parameters (`--tolerance-ulps`)"),
        Field("replicas", "the port's replica count (`--replicas`; 1 on TF1's record)"),
        Field(
            "ladder",
            "on the graph record: every rerun of the ladder, `{step, style, rungs}`: the port "
            "style rerun (`eager`, or `function` where its run was not the eager port's bit for "
            "bit) and the rungs that ran",
        ),
        Field("verdict", "`identical`, `equivalent` or `different`, over every style"),
        Field("style_verdict", "this style's own verdict"),
    ),
)

CHECK_FINDING = RecordKind(
    "findings[]",
    "One entry per rung that differs, in `check`'s graph record.",
    (
        Field(
            "rung",
            "`forward pass`, `gradient`, `update`, `non-trainable update`, `slot`, `whole step`, "
            "...",
        ),
        Field("step", "the step rerun from TF1's values"),
        Field("variable", "the TF1 variable, or null"),
        Field("ulps", "how far apart at equal inputs: a few is rounding, many a real difference"),
        Field(
            "basis",
            "`measured` (judged by its ULPs against the tolerance), `setting` (a named setting "
            "differs) or `arithmetic` (same settings, the libraries compute it differently)",
        ),
        Field(
            "relative",
            "how far apart relative to the quantity; null where not measured; the string "
            "`\"inf\"` where TF1's step did not move it and the port's did",
        ),
        Field("real", "a difference no rounding explains"),
        Field(
            "style",
            "the port style whose rerun found it; null for the port's starting state, which "
            "every style shares",
        ),
        Field("message", "the finding in words, with the fix where known"),
    ),
)

CHECK_LAYER = RecordKind(
    "layers[]",
    "One entry per port layer located, in `check`'s graph record.",
    (
        Field("layer", "the port layer's path"),
        Field("kind", "its class"),
        Field(
            "direction",
            "`forward` (outputs compared, each layer fed TF1's input) or `backward` (input "
            "gradients compared, each layer handed TF1's output gradient)",
        ),
        Field("tf1_tensor", "the TF1 tensor that plays its part; null where none was found"),
        Field("tf1_op", "that tensor's op"),
        Field(
            "located_by",
            "`variables` (the ops reading its paired variables) or `shape and position`",
        ),
        Field(
            "ulps",
            "normwise, the port's output (backward: its input gradient) against TF1's in the "
            "same step",
        ),
        Field("input_ulps", "the same for its input (backward: null)"),
        Field(
            "input_agrees",
            "whether its input agrees with TF1's (backward: whether the layer after it passed "
            "TF1's gradient back unchanged; null for the layer nearest the loss)",
        ),
        Field("alone_ulps", "its output fed TF1's value of its input (where it was fed)"),
        Field("alone_relative", "the same, max|port - TF1| / max|TF1|"),
        Field("setting", "the setting named as the cause"),
        Field("named", "the first layer that differs fed TF1's own input"),
        Field("seconds", "what localising cost, on the named (or first) layer"),
        Field("step", "the step of the finding it belongs to"),
    ),
)

INFERENCE = RecordKind(
    "tfbridge check --inference --json",
    "One record per style compared batch by batch (eager, then serving).",
    (
        Field("model", "the migration file's stem"),
        Field("mode", "`eager` (the port called directly) or `serving` (its reloaded export)"),
        Field("source", "the trained model read: checkpoint, frozen graph or SavedModel path"),
        Field("source_kind", "which of those it is"),
        Field("tf1_output", "the TF1 tensor's name (`TF1_OUTPUT`)"),
        Field("port_output", "`tf2_predict()` or `tf2_loss()`"),
        Field("batch_size", "the batch size; null: the whole data set in one batch"),
        Field("batch_rows", "the rows of each batch"),
        Field("batch_ulps", "each batch's largest ULP distance, element by element"),
        Field("batch_relative_distance", "each batch's normwise relative distance"),
        Field("max_ulps", "the largest over every batch"),
        Field(
            "batch_normwise_ulps",
            "each batch's largest difference in ULPs of its largest TF1 output: what "
            "--tolerance-ulps holds",
        ),
        Field("max_normwise_ulps", "the largest over every batch"),
        Field("relative_distance", "the largest normwise relative distance"),
        Field(
            "first_difference",
            "null, or the first element that differs: `{batch, index, tf1_value, port_value, "
            "ulps}`",
        ),
        Field("variable_map", "the pairing: TF1 name -> port name"),
        Field("tolerance_ulps", "the ULPs allowed (`--tolerance-ulps`)"),
        Field("strict", "Grappler and oneDNN off (`--strict`)"),
        Field("seconds", "the style's wall time"),
        Field("verdict", "`identical`, `equivalent` or `different`, over every style"),
        Field("style_verdict", "this style's own verdict"),
        Field(
            "layer",
            "null; or, where the outputs differ beyond the tolerance, check's first-differing-"
            "layer report on the first such batch: `{batch, layer, message, layers}` (`layers` "
            "as in check's records)",
        ),
    ),
)

INFERENCE_FIRST_DIFFERENCE = ("batch", "index", "tf1_value", "port_value", "ulps")

RECORD_KINDS: tuple[RecordKind, ...] = (
    TRAIN,
    COMPARE,
    COMPARE_DEMO,
    GRAD,
    CHECK,
    CHECK_FINDING,
    CHECK_LAYER,
    INFERENCE,
)
