"""Local clusters of TensorFlow tasks: one process per task, on 127.0.0.1, never left behind.

Style-free and free of TensorFlow: a style names the Python module each task runs
(`python -m MODULE SPEC_FILE`, the spec naming the cluster and the task's place in it), and
this module finds ports, starts the processes, watches them, collects what each wrote, and
stops every one of them on any exit: success, an error, a dead task, a timeout, Ctrl-C.

Each task also guards itself (`guard_task`): it exits on its own when its deadline passes or when
the process that started it is gone, so a parent killed outright (SIGKILL) leaves no server
listening for long. Tasks are addressed on 127.0.0.1 only; no other host is ever addressed.
TensorFlow's gRPC server itself listens on every interface, so the tasks run inside a network
namespace whose only interface is loopback (`tfmigration.netns`). Where this machine allows no
such namespace the run is refused, unless TFBRIDGE_ALLOW_OPEN_PORTS=1 says to run the servers
unconfined (behind the user's own firewall).
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tfmigration.catalog.errors import ConfigError, UserError
from tfmigration.netns import LoopbackNetwork, NamespaceUnavailable

LOOPBACK = "127.0.0.1"

DEFAULT_TIMEOUT_SECONDS = 600.0
"""How long a whole cluster run may take before every task is killed (--cluster-timeout)."""

ALLOW_OPEN_PORTS = "TFBRIDGE_ALLOW_OPEN_PORTS"
"""Set to 1 to run a cluster's servers unconfined where no loopback-only namespace can be made."""

_POLL_SECONDS = 0.05
_STOP_GRACE_SECONDS = 3.0


class ClusterError(UserError):
    """A task of a local cluster died, hung past its deadline, or could not start."""


def free_ports(count: int) -> tuple[int, ...]:
    """`count` distinct ports on 127.0.0.1 that were free a moment ago (bound to port 0).

    The sockets are held until all are chosen, so the same port is never handed out twice;
    another program may still take one before the task binds it, which the task then reports.
    """
    sockets = []
    try:
        for _ in range(count):
            held = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            held.bind((LOOPBACK, 0))
            sockets.append(held)
        return tuple(held.getsockname()[1] for held in sockets)
    finally:
        for held in sockets:
            held.close()


def check_ports(ports: Sequence[int]) -> None:
    """Refuse, in one line, ports a cluster cannot bind on 127.0.0.1 (taken, privileged, bad)."""
    if len(set(ports)) != len(ports):
        raise ConfigError(f"--ports {','.join(map(str, ports))}: each task needs its own port")
    for port in ports:
        if not 1 <= port <= 65535:
            raise ConfigError(f"--ports: {port} is not a TCP port (1 to 65535)")
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # As servers bind: a port whose last connections linger in TIME_WAIT is free; one
        # another program listens on is not.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((LOOPBACK, port))
        except OSError as error:
            reason = error.strerror or str(error)
            raise ConfigError(
                f"--ports: port {port} on {LOOPBACK} cannot be bound ({reason}); "
                "pick free ports or leave --ports out to have them found"
            ) from None
        finally:
            probe.close()


@dataclass(frozen=True)
class Task:
    job: str  # "ps", "worker", or "chief"
    index: int

    @property
    def name(self) -> str:
        return f"{self.job} {self.index}"


@dataclass(frozen=True)
class TaskSpec:
    """What one task process is told: the cluster, its own place in it, and the run's payload
    (unpickled by the task: it is written by this process, for its own children only)."""

    cluster: dict[str, list[str]]
    task: Task
    payload_path: str
    result_path: str
    deadline: float  # time.time() after which the task exits by itself
    parent_pid: int

    @property
    def address(self) -> str:
        return self.cluster[self.task.job][self.task.index]


def cluster_addresses(jobs: dict[str, int], ports: Sequence[int]) -> dict[str, list[str]]:
    """{"ps": ["127.0.0.1:p0"], "worker": [...]}: ports handed out in the order of `jobs`,
    from the start of `ports` (a cluster of fewer tasks uses the first ones)."""
    if len(ports) < sum(jobs.values()):
        raise ConfigError(
            f"--ports: {len(ports)} port{'' if len(ports) == 1 else 's'} given for "
            f"{sum(jobs.values())} tasks ({', '.join(f'{n} {job}' for job, n in jobs.items())})"
        )
    addresses: dict[str, list[str]] = {}
    position = 0
    for job, count in jobs.items():
        addresses[job] = [f"{LOOPBACK}:{port}" for port in ports[position : position + count]]
        position += count
    return addresses


class LocalCluster:
    """Runs every task of `jobs` as a process of `module`; `collect` waits for the ones whose
    results are wanted and returns them; leaving the `with` block kills whatever still runs.

    A task that exits with a non-zero status, or before writing its result, stops the whole
    run with one ClusterError naming the task and the last line it wrote to standard error.
    """

    def __init__(
        self,
        module: str,
        jobs: dict[str, int],
        payload: Any,
        *,
        ports: Sequence[int] | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        env: dict[str, str] | None = None,
    ) -> None:
        if ports is not None:
            check_ports(ports)
        self.ports = tuple(ports) if ports is not None else free_ports(sum(jobs.values()))
        self.addresses = cluster_addresses(jobs, self.ports)
        self.module = module
        self.timeout = timeout
        self._payload = payload
        self._env = env or {}
        self._directory: tempfile.TemporaryDirectory[str] | None = None
        self.processes: dict[Task, subprocess.Popen[bytes]] = {}
        self._stderr: dict[Task, Path] = {}
        self._results: dict[Task, Path] = {}
        self._deadline = 0.0
        # The loopback-only namespace the tasks run in; None only where the machine allows none
        # and TFBRIDGE_ALLOW_OPEN_PORTS=1 says to run them unconfined.
        self._network: LoopbackNetwork | None = None

    def _confine(self) -> None:
        network = LoopbackNetwork()
        try:
            network.start()
        except NamespaceUnavailable as reason:
            if os.environ.get(ALLOW_OPEN_PORTS) != "1":
                raise ClusterError(
                    f"cannot keep the cluster on 127.0.0.1: no network namespace ({reason}). "
                    "TensorFlow's gRPC servers listen on every interface and run any graph "
                    "sent to them, so they run only inside a loopback-only namespace; allow "
                    "unprivileged user namespaces (e.g. sysctl "
                    "kernel.apparmor_restrict_unprivileged_userns=0), or set "
                    f"{ALLOW_OPEN_PORTS}=1 to run them unconfined behind your firewall"
                ) from None
            return
        self._network = network

    def __enter__(self) -> LocalCluster:
        try:
            self._confine()
            self._directory = tempfile.TemporaryDirectory(prefix="tfmigration-cluster-")
            root = Path(self._directory.name)
            payload_path = root / "payload.pickle"
            payload_path.write_bytes(pickle.dumps(self._payload))
            self._deadline = time.time() + self.timeout
            for job, addresses in self.addresses.items():
                for index in range(len(addresses)):
                    self._start(Task(job, index), root, payload_path)
        except BaseException:
            # __exit__ does not run when __enter__ raises: stop and clean up here.
            self.__exit__()
            raise
        return self

    def _start(self, task: Task, root: Path, payload_path: Path) -> None:
        stem = f"{task.job}-{task.index}"
        spec = TaskSpec(
            cluster=self.addresses,
            task=task,
            payload_path=str(payload_path),
            result_path=str(root / f"{stem}.result.pickle"),
            deadline=self._deadline,
            parent_pid=os.getpid(),
        )
        spec_path = root / f"{stem}.spec.json"
        spec_path.write_text(
            json.dumps(
                {
                    "cluster": spec.cluster,
                    "job": task.job,
                    "index": task.index,
                    "payload_path": spec.payload_path,
                    "result_path": spec.result_path,
                    "deadline": spec.deadline,
                    "parent_pid": spec.parent_pid,
                }
            )
        )
        self._stderr[task] = root / f"{stem}.stderr"
        self._results[task] = Path(spec.result_path)
        env = os.environ | {"TF_CPP_MIN_LOG_LEVEL": "3"} | self._env
        with open(self._stderr[task], "wb") as stderr:
            # A session of its own: Ctrl-C reaches this process alone, which then stops the
            # tasks in order instead of every task dying mid-RPC with its own traceback.
            command = [sys.executable, "-m", self.module, str(spec_path)]
            if self._network is not None:
                command = self._network.command(self.module, str(spec_path))
            self.processes[task] = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                env=env,
                start_new_session=True,
            )

    def collect(self, tasks: Sequence[Task]) -> dict[Task, Any]:
        """Wait for `tasks` to finish and return what each wrote; fail on any task's death."""
        waiting = set(tasks)
        while waiting:
            for task, process in self.processes.items():
                status = process.poll()
                if status is None:
                    continue
                if status != 0 or (task in waiting and not self._results[task].exists()):
                    raise ClusterError(self._death(task, status))
                waiting.discard(task)
            if waiting and time.time() > self._deadline:
                names = ", ".join(sorted(task.name for task in waiting))
                raise ClusterError(
                    f"the local cluster ran past its {self.timeout:g} s timeout; "
                    f"{names} had not finished; every task was stopped"
                )
            if waiting:
                time.sleep(_POLL_SECONDS)
        return {task: pickle.loads(self._results[task].read_bytes()) for task in tasks}

    def _death(self, task: Task, status: int) -> str:
        lines = [
            line.strip()
            for line in self._stderr[task].read_text(errors="replace").splitlines()
            if line.strip()
        ]
        last = f": {lines[-1]}" if lines else ""
        if status < 0:
            how = f"was killed by signal {signal.Signals(-status).name}"
        elif status == 0:
            how = "exited without writing its result"
        else:
            how = f"died with exit status {status}"
        pid = self.processes[task].pid
        return f"{task.name} (pid {pid}, {self.addresses[task.job][task.index]}) {how}{last}"

    def stop(self) -> None:
        """Terminate every task still running, kill the ones that do not go, reap them all."""
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        ends = time.time() + _STOP_GRACE_SECONDS
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.0, ends - time.time()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def __exit__(self, *exc: object) -> None:
        try:
            self.stop()
        finally:
            if self._network is not None:
                self._network.stop()
            if self._directory is not None:
                self._directory.cleanup()


# The task side ---------------------------------------------------------------------------------


def read_task_spec(path: str) -> TaskSpec:
    raw = json.loads(Path(path).read_text())
    return TaskSpec(
        cluster=raw["cluster"],
        task=Task(raw["job"], raw["index"]),
        payload_path=raw["payload_path"],
        result_path=raw["result_path"],
        deadline=raw["deadline"],
        parent_pid=raw["parent_pid"],
    )


def load_payload(spec: TaskSpec) -> Any:
    return pickle.loads(Path(spec.payload_path).read_bytes())


def write_result(spec: TaskSpec, result: Any) -> None:
    """Write a task's result atomically: the parent never reads half of it."""
    partial = Path(spec.result_path + ".partial")
    partial.write_bytes(pickle.dumps(result))
    os.replace(partial, spec.result_path)


def guard_task(spec: TaskSpec) -> None:
    """Exit this task by itself when its deadline passes or its parent is gone.

    A daemon thread polls; `os._exit` because a TensorFlow server's threads do not stop on
    SystemExit, and a task that outlives its run must not hold its port.
    """

    def watch() -> None:
        while True:
            if time.time() > spec.deadline:
                sys.stderr.write(f"{spec.task.name}: deadline passed; exiting\n")
                sys.stderr.flush()
                os._exit(4)
            if os.getppid() != spec.parent_pid:
                os._exit(3)
            time.sleep(0.2)

    threading.Thread(target=watch, name="task-guard", daemon=True).start()


_TF_ERROR_FRAMING = (
    "Graph execution error",
    "Detected at node",
    "Node:",
    "From /job",
    "[[",
    "Original",
)


def _gist(message: str) -> str:
    """The line of an error message that says what went wrong: TensorFlow's op errors wrap it
    in lines naming the node and where it was defined."""
    for line in message.splitlines():
        line = line.strip()
        if line and not line.startswith(_TF_ERROR_FRAMING) and not line.startswith("File "):
            return line
    return message.strip().splitlines()[0] if message.strip() else ""


@contextmanager
def task_main(spec_path: str) -> Iterator[TaskSpec]:
    """The frame of every task program: read its spec, guard it, exit quietly on SIGTERM."""
    spec = read_task_spec(spec_path)
    guard_task(spec)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    try:
        yield spec
    except BaseException as error:
        # The traceback for whoever reads the whole log; last, the one line the run reports.
        traceback.print_exc()
        sys.stderr.write(f"{type(error).__name__}: {_gist(str(error))}\n")
        sys.stderr.flush()
        os._exit(1)
