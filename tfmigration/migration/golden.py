"""A golden trajectory: the TF1 run of a migration file, recorded once, read back with NumPy alone.

A recording is a directory of two files:

- `manifest.json`: `{"format": "tfbridge-golden", "version": 1, "model", "settings": {"steps",
  "batch_size", "seed", "strict", "every"}, "data": {"sha256", "features": {"shape", "dtype"},
  "labels": {...}} (with several inputs, "inputs": {"structure": "dict" or "tuple", "arrays":
  [{"name", "shape", "dtype"}, ...]} in place of "features"), "versions": {"python", "numpy",
  "tensorflow", "keras"}, "machine":
  {"architecture", "model", "vector_extensions"} (absent from older recordings), "variables":
  [{"name", "shape", "dtype", "trainable"}, ...] (TF1's, in creation order), "optimizer": {"kind",
  "hyperparameters", "slots": {"tf1name/slot": variable name}, "beta_powers"}, "recorded_steps":
  [...], "noise_floor": {"loss_ulps", "param_ulps", "slot_ulps"}}`;
- `trajectory.npz` (plain arrays, no pickle): `losses` (every step's loss, before its update),
  `batch_indices` (steps x batch rows; absent for whole-data steps), `initial/NAME` (every
  variable before step 0, the optimizer's included) and `after/STEP/NAME` (STEP in 9 digits:
  every variable after the update of each recorded step: every `every` steps, the first and the
  last always).

`np.load(DIR + "/trajectory.npz", allow_pickle=False)` reads it anywhere. The directory is
written beside its destination and renamed into place, so a recording is whole or absent; it
replaces only an empty directory or a recording holding nothing else. `RecordingWriter` writes
each array into the staging directory's archive as TF1 produces it (the members `np.savez`
writes: stored `.npy` files, ZIP64), so recording holds no step it has written in memory.
`read_recording` checks the manifest against one schema (`_SCHEMA`) and the arrays against the
manifest, so a tampered recording is one line naming the field; the recorded steps are checked
by their `.npy` headers and read a step at a time when a check asks (`RecordedSteps`).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
import weakref
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from tfmigration.catalog.errors import ConfigError, UserError

FORMAT = "tfbridge-golden"
VERSION = 1
MANIFEST = "manifest.json"
ARRAYS = "trajectory.npz"


class RecordingError(UserError):
    """A recording that cannot be used: truncated, of another format or version (exit 1)."""


class _Header(NamedTuple):
    """What an `.npy` member's header says, read without its data."""

    shape: tuple[int, ...]
    dtype: np.dtype


class _Archive:
    """`trajectory.npz` held open while any view of its steps lives; closed when the last goes
    (or by `close`), so no file is left open behind a check."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        handle = open(directory / ARRAYS, "rb")  # noqa: SIM115 (closed by the finalizer)
        try:
            self.npz = np.load(handle, allow_pickle=False)
        except BaseException:
            handle.close()
            raise
        self._closer = weakref.finalize(self, _close, self.npz, handle)

    def close(self) -> None:
        self._closer()

    def corrupted(self, error: BaseException) -> RecordingError:
        return RecordingError(
            f"--against {self.directory}: {ARRAYS} is truncated or corrupted ({error})"
        )

    def header(self, key: str) -> _Header:
        """The shape and dtype of member `key`, from its header: the data is not read."""
        try:
            with self.npz.zip.open(f"{key}.npy") as member:
                version = np.lib.format.read_magic(member)
                read = {
                    (1, 0): np.lib.format.read_array_header_1_0,
                    (2, 0): np.lib.format.read_array_header_2_0,
                }.get(version)
                if read is None:
                    raise ValueError(f"{key} is .npy version {version[0]}.{version[1]}")
                shape, _, dtype = read(member)
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
            raise self.corrupted(error) from None
        return _Header(shape, dtype)

    def array(self, key: str) -> np.ndarray:
        try:
            return self.npz[key]
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
            raise self.corrupted(error) from None


def _close(npz: Any, handle: Any) -> None:
    npz.close()
    handle.close()


class RecordedSteps(Mapping[int, dict[str, np.ndarray]]):
    """A recording's variables after each recorded step, read from `trajectory.npz` a step at a
    time when asked for and not kept: a check against 10,000 recorded steps of a large model
    holds one step's variables, not all of them. A member whose data is damaged (its header was
    checked on reading) is a `RecordingError` when its step is read."""

    def __init__(self, archive: _Archive, steps: Sequence[int], names: Sequence[str]) -> None:
        self._archive, self._steps, self._names = archive, list(steps), list(names)
        self._known = frozenset(self._steps)

    def __getitem__(self, step: int) -> dict[str, np.ndarray]:
        if step not in self._known:
            raise KeyError(step)
        return {name: self._archive.array(f"after/{step:09d}/{name}") for name in self._names}

    def __contains__(self, step: object) -> bool:
        return step in self._known  # without reading the step

    def __iter__(self) -> Iterator[int]:
        return iter(self._steps)

    def __len__(self) -> int:
        return len(self._steps)

    def upto(self, steps: int) -> RecordedSteps:
        """The same recording's steps below `steps`."""
        return RecordedSteps(self._archive, [s for s in self._steps if s < steps], self._names)

    def close(self) -> None:
        """Close `trajectory.npz` now rather than when the last view of it is dropped."""
        self._archive.close()


@dataclass(frozen=True)
class Recording:
    path: Path
    manifest: dict[str, Any]
    losses: np.ndarray
    batch_indices: np.ndarray | None
    initial: dict[str, np.ndarray]
    after: RecordedSteps

    @property
    def steps(self) -> int:
        return int(self.manifest["settings"]["steps"])


def recorded_steps(steps: int, every: int) -> list[int]:
    """The steps whose variables are kept: every `every`-th, the first, the last and the one
    before it always (the ladder reruns the last step from it where slots leave the floor)."""
    return sorted({0, max(steps - 2, 0), steps - 1, *range(0, steps, every)})


def check_destination(directory: str | Path) -> Path | None:
    """Refuse, before anything runs, an --output a recording may not go to; return the recording
    it would replace (None: a new or empty directory).

    `record` deletes only what it wrote: DIR may be new, an empty directory, or a recording of
    ours holding nothing but a recording's two files. Anything else is refused in one line,
    untouched: a folder that merely holds some `manifest.json` is not ours to empty."""
    directory = Path(directory)
    if directory.is_symlink():
        raise ConfigError(f"--output {directory} is a symbolic link; name the directory itself")
    if not directory.exists():
        parent = directory.parent
        if not parent.is_dir():
            raise ConfigError(f"--output: directory {str(parent)!r} does not exist")
        return None
    if not directory.is_dir():
        raise ConfigError(
            f"--output {directory} exists and is not a directory; name a new or empty directory"
        )
    if directory.resolve() == Path.cwd().resolve():
        # The current directory cannot be renamed away and back, which is how a recording is
        # replaced whole; writing into it file by file could leave half a recording.
        raise ConfigError(
            f"--output {directory} is the current directory; name a directory inside it "
            "(e.g. --output recording), which record creates"
        )
    entries = sorted(directory.iterdir(), key=lambda entry: entry.name)
    if not entries:
        return None
    foreign = [entry for entry in entries if entry.name not in (MANIFEST, ARRAYS)]
    ours = _is_our_manifest(directory / MANIFEST)
    if not ours:
        shown = [
            f"{MANIFEST} (not a {FORMAT} manifest)" if entry.name == MANIFEST else _shown(entry)
            for entry in entries
        ]
        raise ConfigError(
            f"--output {directory} exists and is not a recording (it holds {_listing(shown)}); "
            "nothing was touched: name a new or empty directory"
        )
    if foreign:
        raise ConfigError(
            f"--output {directory} exists and is not a recording alone (beside one it holds "
            f"{_listing([_shown(entry) for entry in foreign])}); nothing was touched: name a "
            "new or empty directory, or move those out"
        )
    return directory


def _is_our_manifest(path: Path) -> bool:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(document, dict) and document.get("format") == FORMAT


def _shown(entry: Path) -> str:
    return f"{entry.name}/" if entry.is_dir() and not entry.is_symlink() else entry.name


def _listing(names: list[str], most: int = 5) -> str:
    text = ", ".join(names[:most])
    return text + (f" and {len(names) - most} more" if len(names) > most else "")


class RecordingWriter:
    """A recording written as TF1 runs: each array goes into the staging directory's
    `trajectory.npz` the moment it is known, so a long run never holds its recorded steps in
    memory. `finish` writes the manifest and renames the directory into place (over an empty
    directory, or swapped with the recording it replaces); leaving the `with` block any other
    way removes the staging directory, and nothing else.

        with RecordingWriter(output) as writer:
            writer.initial(values); writer.after(step, values); ...
            writer.finish(manifest, losses)
    """

    def __init__(self, directory: str | Path, batch_indices: np.ndarray | None) -> None:
        self.directory = Path(directory)
        check_destination(self.directory)
        try:
            self._staging = Path(
                tempfile.mkdtemp(prefix=f".{self.directory.name}.", dir=self.directory.parent)
            )
        except OSError as error:
            raise self._unwritable(error) from None
        self._archive: zipfile.ZipFile | None = None
        try:
            # mkdtemp makes the directory private; a recording is as readable as the umask says.
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(self._staging, 0o777 & ~umask)
            # The members np.savez would write (stored, ZIP64), one at a time.
            self._archive = zipfile.ZipFile(self._staging / ARRAYS, "w", allowZip64=True)
            if batch_indices is not None:
                self._add("batch_indices", batch_indices)
        except OSError as error:
            self.discard()
            raise self._unwritable(error) from None
        except BaseException:
            self.discard()
            raise

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        if self._archive is not None or self._staging.exists():
            self.discard()

    def _unwritable(self, error: OSError) -> UserError:
        return UserError(f"cannot write --output {self.directory}: {error.strerror or error}")

    def _add(self, name: str, value: np.ndarray) -> None:
        assert self._archive is not None, "the recording is finished"
        try:
            with self._archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(value), allow_pickle=False)
        except OSError as error:
            raise self._unwritable(error) from None

    def initial(self, values: dict[str, np.ndarray]) -> None:
        for name, value in values.items():
            self._add(f"initial/{name}", value)

    def after(self, step: int, values: dict[str, np.ndarray]) -> None:
        for name, value in values.items():
            self._add(f"after/{step:09d}/{name}", value)

    def discard(self) -> None:
        """Remove the staging directory (ours alone); the destination is untouched."""
        if self._archive is not None:
            with contextlib.suppress(OSError):
                self._archive.close()
            self._archive = None
        shutil.rmtree(self._staging, ignore_errors=True)

    def finish(self, manifest: dict[str, Any], losses: np.ndarray) -> None:
        """Write the losses and the manifest, then rename the recording into place."""
        directory, staging, parent = self.directory, self._staging, self.directory.parent
        self._add("losses", losses)
        assert self._archive is not None
        document = {"format": FORMAT, "version": VERSION, **manifest}
        try:
            self._archive.close()
            self._archive = None
            (staging / MANIFEST).write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
        except OSError as error:
            raise self._unwritable(error) from None
        # Checked again: the destination may have changed while TF1 ran.
        replaced = check_destination(directory)
        try:
            if replaced is None:
                # rename(2) onto an empty directory replaces it in one step.
                os.replace(staging, directory)
                return
            retired = Path(tempfile.mkdtemp(prefix=f".{directory.name}.old.", dir=parent))
            try:
                os.replace(directory, retired / "recording")
                try:
                    os.replace(staging, directory)
                except BaseException:
                    # Not swapped after all (Ctrl-C or an error between the renames): the old
                    # recording goes back where it was.
                    os.replace(retired / "recording", directory)
                    raise
            except BaseException:
                retired.rmdir()
                raise
        except OSError as error:
            raise self._unwritable(error) from None
        # The old recording held only our two files (checked above); remove exactly those.
        old = retired / "recording"
        for name in (MANIFEST, ARRAYS):
            (old / name).unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            old.rmdir()
            retired.rmdir()


class TamperedRecordingError(RecordingError):
    """A recording whose manifest or arrays are not what `record` writes: a field missing or of
    the wrong kind, arrays of other shapes than the manifest says (exit 2, like a bad file)."""

    exit_code = 2


@dataclass(frozen=True)
class _Expect:
    """What one manifest field must be: in words for the error, and as a test."""

    words: str
    test: Callable[[Any], bool]


def _whole(value: Any, low: int = 0) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _optional(expect: _Expect) -> _Expect:
    return _Expect(f"{expect.words} or null", lambda v: v is None or expect.test(v))


def _list_of(expect: _Expect, words: str) -> _Expect:
    return _Expect(words, lambda v: isinstance(v, list) and all(expect.test(i) for i in v))


def _dict_of(expect: _Expect, words: str) -> _Expect:
    return _Expect(words, lambda v: isinstance(v, dict) and all(expect.test(i) for i in v.values()))


_TEXT = _Expect("a string", lambda v: isinstance(v, str))
_FLAG = _Expect("true or false", lambda v: isinstance(v, bool))
_COUNT = _Expect("a whole number of at least 1", lambda v: _whole(v, 1))
_NATURAL = _Expect("a whole number of at least 0", _whole)
_NUMBER = _Expect("a finite number", _finite)
_SHAPE = _list_of(_NATURAL, "a list of whole numbers of at least 0")
_TEXTS = _list_of(_TEXT, "a list of strings")
_HEX = frozenset("0123456789abcdef")
_ARRAY = {"shape": _SHAPE, "dtype": _TEXT}

# What `bridge.record` writes (see the module docstring). A dict is an object of those fields,
# a one-item list a list of such objects; a trailing "?" marks a field older recordings lack
# (absent or null).
_SCHEMA: dict[str, Any] = {
    "model": _TEXT,
    "settings": {
        "steps": _COUNT,
        "batch_size": _optional(_COUNT),
        "seed": _NATURAL,
        "strict": _FLAG,
        "every": _COUNT,
    },
    "data": {
        "sha256": _Expect(
            "64 hexadecimal digits",
            lambda v: isinstance(v, str) and len(v) == 64 and all(c in _HEX for c in v),
        ),
        # One of the two: `features` for one array, `inputs` for several.
        "features?": _ARRAY,
        "inputs?": {
            "structure": _Expect('"dict" or "tuple"', lambda v: v in ("dict", "tuple")),
            "arrays": [{"name": _TEXT, "shape": _SHAPE, "dtype": _TEXT}],
        },
        "labels": _ARRAY,
    },
    "versions": {"python": _TEXT, "numpy": _TEXT, "tensorflow": _TEXT, "keras": _TEXT},
    "machine?": _Expect("an object", lambda v: isinstance(v, dict)),
    "variables": [{"name": _TEXT, "shape": _SHAPE, "dtype": _TEXT, "trainable": _FLAG}],
    "optimizer": {
        "kind": _optional(_TEXT),
        "hyperparameters": _dict_of(_NUMBER, "an object of finite numbers"),
        "slots": _dict_of(_TEXT, "an object of strings"),
        "beta_powers": _optional(_TEXTS),
        "owned?": _TEXTS,
    },
    "recorded_steps": _list_of(_NATURAL, "a list of whole numbers of at least 0"),
    "noise_floor?": {"loss_ulps": _NATURAL, "param_ulps": _NATURAL, "slot_ulps": _NATURAL},
    "unaligned_random_ops?": _TEXTS,
}


def _schema_words(schema: Any) -> str:
    if isinstance(schema, _Expect):
        return schema.words
    if isinstance(schema, list):
        return "a list of objects"
    return "an object"


def _mismatch(value: Any, schema: Any, where: str) -> tuple[str, Any, str] | None:
    """The first field of `value` that `schema` does not allow: (field, its value, expected)."""
    if isinstance(schema, _Expect):
        return None if schema.test(value) else (where, value, schema.words)
    if isinstance(schema, list):
        if not isinstance(value, list):
            return (where, value, "a list of objects")
        for index, item in enumerate(value):
            found = _mismatch(item, schema[0], f"{where}[{index}]")
            if found:
                return found
        return None
    if not isinstance(value, dict):
        return (where, value, "an object")
    for key, inner in schema.items():
        name = key.removesuffix("?")
        field = f"{where}.{name}" if where else name
        if key.endswith("?") and value.get(name) is None:
            continue
        if name not in value:
            return (field, _MISSING, _schema_words(inner))
        found = _mismatch(value[name], inner, field)
        if found:
            return found
    return None


_MISSING = object()


def _shown_value(value: Any) -> str:
    if value is _MISSING:
        return "is missing"
    text = json.dumps(value) if not isinstance(value, str) else f"the string {value!r}"
    return f"is {text if len(text) <= 40 else text[:37] + '...'}"


def validate_manifest(directory: Path, manifest: dict[str, Any]) -> None:
    """Refuse, in one line naming the field, a manifest `record` could not have written."""
    found = _mismatch(manifest, _SCHEMA, "")
    if found is not None:
        field, value, expected = found
        raise TamperedRecordingError(
            f"--against {directory}: {MANIFEST} field {field} {_shown_value(value)}; "
            f"expected {expected}"
        )
    steps = manifest["settings"]["steps"]
    late = [step for step in manifest["recorded_steps"] if step >= steps]
    if late:
        _tampered(directory, f"recorded_steps holds step {late[0]}", f"steps below {steps}")
    data = manifest["data"]
    if ("features" in data) == ("inputs" in data):
        held = "both" if "features" in data else "neither"
        _tampered(
            directory,
            f"data holds {held} of features and inputs",
            "one: features (one array) or inputs (several)",
        )
    if "inputs" in data and not data["inputs"]["arrays"]:
        _tampered(directory, "data.inputs.arrays is empty", "an entry per input")
    shapes = _data_shapes(data)
    rows = {tuple(shape[:1]) for shape in shapes.values()}
    if len(rows) != 1 or rows in ({()}, {(0,)}):
        _tampered(
            directory,
            " and ".join(f"{where}.shape {shape}" for where, shape in shapes.items()),
            "the same number of rows, at least 1",
        )


def _data_shapes(data: dict[str, Any]) -> dict[str, list[int]]:
    """Each recorded array's shape by its field (`data.features`, `data.inputs.arrays[0]`, ...)."""
    if "features" in data:
        shapes = {"data.features": data["features"]["shape"]}
    else:
        shapes = {
            f"data.inputs.arrays[{index}]": array["shape"]
            for index, array in enumerate(data["inputs"]["arrays"])
        }
    return {**shapes, "data.labels": data["labels"]["shape"]}


def recorded_rows(manifest: dict[str, Any]) -> int:
    """The data's row count, from a manifest `validate_manifest` accepted."""
    return manifest["data"]["labels"]["shape"][0]


def _tampered(directory: Path, found: str, expected: str) -> None:
    raise TamperedRecordingError(f"--against {directory}: {MANIFEST} {found}; expected {expected}")


def _check_arrays(
    directory: Path,
    manifest: dict[str, Any],
    losses: np.ndarray,
    batch_indices: np.ndarray | None,
    initial: dict[str, np.ndarray],
    after: dict[int, dict[str, _Header]],
) -> None:
    """The arrays (the recorded steps' by their headers) agree with the manifest: as many
    finite losses as steps, batch rows that exist, every variable of the manifest's shape. One
    line naming the array otherwise."""

    def refuse(array: str, found: str, expected: str) -> None:
        raise TamperedRecordingError(
            f"--against {directory}: {ARRAYS} {array} {found}; expected {expected}"
        )

    settings = manifest["settings"]
    steps = settings["steps"]
    if losses.ndim != 1 or losses.dtype.kind != "f":
        refuse("losses", f"is {losses.dtype} of shape {list(losses.shape)}", f"{steps} floats")
    if len(losses) != steps:
        refuse("losses", f"holds {len(losses)} losses", f"one per step, {steps}")
    if not np.isfinite(losses).all():
        step = int(np.argwhere(~np.isfinite(losses))[0][0])
        refuse("losses", f"holds {losses[step]} at step {step}", "finite losses, as recorded")
    rows = recorded_rows(manifest)
    batch_size = settings["batch_size"]
    if batch_size is None and batch_indices is not None:
        refuse("batch_indices", "is present", "none: settings.batch_size is null (whole data)")
    if batch_size is not None:
        if batch_indices is None:
            refuse("batch_indices", "is missing", f"{steps} x {batch_size} row numbers")
        if batch_indices.dtype.kind not in "iu" or batch_indices.shape != (steps, batch_size):
            refuse(
                "batch_indices",
                f"is {batch_indices.dtype} of shape {list(batch_indices.shape)}",
                f"whole numbers of shape [{steps}, {batch_size}]",
            )
        if batch_indices.size and (batch_indices.min() < 0 or batch_indices.max() >= rows):
            bad = batch_indices[(batch_indices < 0) | (batch_indices >= rows)][0]
            refuse("batch_indices", f"holds row {bad}", f"rows 0 to {rows - 1} of the {rows}")
    shapes = {variable["name"]: tuple(variable["shape"]) for variable in manifest["variables"]}
    for where, values in [("initial", initial)] + [
        (f"after/{step:09d}", values) for step, values in after.items()
    ]:
        for name, value in values.items():
            expected = shapes.get(name, initial[name].shape)
            if value.dtype.kind not in "biuf":
                refuse(f"{where}/{name}", f"is {value.dtype}", "a numeric array")
            if value.shape != expected:
                refuse(
                    f"{where}/{name}",
                    f"has shape {list(value.shape)}",
                    f"{list(expected)}, as {MANIFEST} says",
                )


def read_recording(directory: str | Path) -> Recording:
    """Read and check a recording; one clear error for anything missing, truncated or foreign."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ConfigError(f"--against {directory}: no such recording directory")
    manifest_path = directory / MANIFEST
    if not manifest_path.is_file():
        raise RecordingError(
            f"--against {directory}: no {MANIFEST}; not a recording (make one with tfbridge "
            "record FILE --output DIR)"
        )
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RecordingError(f"--against {directory}: {MANIFEST} cannot be read: {error}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise RecordingError(f"--against {directory}: {MANIFEST} is not a {FORMAT} manifest")
    if manifest.get("version") != VERSION:
        raise RecordingError(
            f"--against {directory}: recording format version {manifest.get('version')!r}; "
            f"this tfbridge reads version {VERSION}"
        )
    try:
        archive = _Archive(directory)
    except FileNotFoundError:
        raise RecordingError(f"--against {directory}: {ARRAYS} is missing") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise RecordingError(
            f"--against {directory}: {ARRAYS} is truncated or corrupted ({error})"
        ) from None
    try:
        return _read_arrays(directory, manifest, archive)
    except BaseException:
        archive.close()
        raise


def _read_arrays(directory: Path, manifest: dict[str, Any], archive: _Archive) -> Recording:
    """The small arrays read whole, the recorded steps' checked by their headers and left on
    disk for `RecordedSteps` to read when asked."""
    validate_manifest(directory, manifest)
    names = [variable["name"] for variable in manifest["variables"]]
    owned = list(manifest["optimizer"].get("owned", []))
    members = set(archive.npz.files)
    steps = manifest["recorded_steps"]
    wanted = [
        "losses",
        *(f"initial/{name}" for name in [*names, *owned]),
        *(f"after/{step:09d}/{name}" for step in steps for name in [*names, *owned]),
    ]
    missing = next((key for key in wanted if key not in members), None)
    if missing is not None:
        raise RecordingError(
            f"--against {directory}: {ARRAYS} lacks {missing}; the recording is incomplete"
        )
    initial = {name: archive.array(f"initial/{name}") for name in [*names, *owned]}
    headers = {
        step: {name: archive.header(f"after/{step:09d}/{name}") for name in [*names, *owned]}
        for step in steps
    }
    losses = archive.array("losses")
    batch_indices = archive.array("batch_indices") if "batch_indices" in members else None
    _check_arrays(directory, manifest, losses, batch_indices, initial, headers)
    return Recording(
        path=directory,
        manifest=manifest,
        losses=losses,
        batch_indices=batch_indices,
        initial=initial,
        after=RecordedSteps(archive, steps, [*names, *owned]),
    )
