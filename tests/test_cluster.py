"""Local clusters (tfmigration.cluster) with real task processes: nothing is left behind."""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from graphmode.between_graph import MODULE, train
from tfmigration.catalog import ConfigError, TrainConfig, prepare
from tfmigration.cluster import ClusterError, check_ports, free_ports
from tfmigration.netns import unavailable_reason

pytestmark = pytest.mark.slow  # real clusters on 127.0.0.1: processes, ports, signals

ROOT = Path(__file__).resolve().parents[1]
LISTEN = "0A"
LOOPBACK_HEX = {"0100007F", "0000000000000000FFFF00000100007F"}  # 127.0.0.1, ::ffff:127.0.0.1

# A driver that trains long enough to be interrupted while its cluster runs.
DRIVER = textwrap.dedent(
    """
    from graphmode.between_graph import train
    from tfmigration.catalog import TrainConfig, prepare

    train(prepare("quadratic", TrainConfig(steps=20000)), 2, strict=True, timeout=120)
    """
)


# /proc scanning ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stat:
    pid: int
    state: str
    ppid: int
    start: int  # clock ticks after boot: with the pid, names one process even if pids are reused


def _stat(pid: int) -> Stat | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()  # after "pid (comm) "; comm may hold spaces
    return Stat(pid, fields[0], int(fields[1]), int(fields[19]))


def _pids() -> list[int]:
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


def _argv(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [arg.decode(errors="replace") for arg in raw.split(b"\0") if arg]


def _children(parent: int) -> set[tuple[int, int]]:
    """(pid, start) of every process whose parent is `parent`, zombies included."""
    found = set()
    for pid in _pids():
        stat = _stat(pid)
        if stat is not None and stat.ppid == parent:
            found.add((pid, stat.start))
    return found


def _alive(pid: int, start: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat.start == start and stat.state not in "ZX"


def _listening(pid: int | str = "self") -> dict[int, set[str]]:
    """Port -> local addresses (hex, as /proc shows them) of every TCP socket in LISTEN, in the
    network namespace of process `pid` (ours by default).

    Both tables: TensorFlow's gRPC servers listen on IPv6 sockets, which /proc/net/tcp omits.
    """
    ports: dict[int, set[str]] = {}
    for table in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, _remote, state = line.split()[1:4]
            if state == LISTEN:
                address, port = local.split(":")
                ports.setdefault(int(port, 16), set()).add(address)
    return ports


def _network(pid: int | str) -> tuple[int, list[str]] | None:
    """The network namespace of process `pid` (its inode) and the interfaces it holds."""
    try:
        inode = os.stat(f"/proc/{pid}/ns/net").st_ino
        lines = Path(f"/proc/{pid}/net/dev").read_text().splitlines()[2:]
    except OSError:
        return None
    return inode, sorted(line.split(":", 1)[0].strip() for line in lines)


def _readable(address: str) -> str:
    raw = bytes.fromhex(address)
    if len(raw) == 4:
        return str(ipaddress.IPv4Address(raw[::-1]))
    ip = ipaddress.IPv6Address(b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4)))
    return str(ip.ipv4_mapped or ip)


def _wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    ends = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > ends:
            return False
        time.sleep(0.05)
    return True


@dataclass
class SeenTask:
    pid: int
    start: int
    name: str  # "ps-0", "worker-1": the stem of its spec file
    spec_path: Path


@dataclass
class Watcher:
    """Polls /proc in a thread for the cluster tasks `parent` starts, their ports, and which of
    those ports listen (and on what address) while the run goes on."""

    parent: int
    tasks: dict[str, SeenTask] = field(default_factory=dict)
    ports: set[int] = field(default_factory=set)
    listened: dict[int, set[str]] = field(default_factory=dict)  # where the tasks run
    listened_here: dict[int, set[str]] = field(default_factory=dict)  # in our own namespace
    networks: dict[str, tuple[int, list[str]]] = field(default_factory=dict)  # task -> netns
    _done: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Watcher:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        assert self._thread is not None
        self._thread.join()
        self.poll()

    def _run(self) -> None:
        while not self._done.is_set():
            self.poll()
            time.sleep(0.05)

    def poll(self) -> None:
        for pid in _pids():
            stat = _stat(pid)
            if stat is None or stat.ppid != self.parent or stat.state in "ZX":
                continue
            argv = _argv(pid)
            if MODULE not in argv:
                continue
            spec_path = Path(argv[-1])
            name = spec_path.name.removesuffix(".spec.json")
            if name in self.tasks:
                continue
            try:
                spec = json.loads(spec_path.read_text())
            except (OSError, ValueError):
                continue  # gone already, or not seen until the next poll
            self.tasks[name] = SeenTask(pid, stat.start, name, spec_path)
            for addresses in spec["cluster"].values():
                self.ports.update(int(address.rsplit(":", 1)[1]) for address in addresses)
        here = _listening()
        for port in self.ports & here.keys():
            self.listened_here.setdefault(port, set()).update(here[port])
        for task in self.tasks.values():
            network = _network(task.pid)
            if network is not None and _alive(task.pid, task.start):
                # Kept up to date: a task joins its namespace only once it has started.
                self.networks[task.name] = network
                theirs = _listening(task.pid)
                for port in self.ports & theirs.keys():
                    self.listened.setdefault(port, set()).update(theirs[port])

    def wait_for_training(self, timeout: float = 60) -> None:
        """Until every task's server listens and the chief's session is up: mid-training."""

        def training() -> bool:
            names = {"ps-0", "worker-0", "worker-1"}
            if not names <= self.tasks.keys() or len(self.ports) != len(names):
                return False
            directory = self.tasks["worker-0"].spec_path.parent
            ready = (directory / "chief-session-ready").exists()
            return ready and self.listened.keys() == self.ports

        assert _wait_until(training, timeout), f"the cluster never came up: saw {self.tasks}"

    def alive(self) -> list[str]:
        return [f"{t.name} (pid {t.pid})" for t in self.tasks.values() if _alive(t.pid, t.start)]

    def still_listening(self) -> set[int]:
        """The ports still listening here or in the namespace of any task still alive."""
        listening = set(_listening())
        for task in self.tasks.values():
            if _alive(task.pid, task.start):
                listening |= set(_listening(task.pid))
        return self.ports & listening

    def kill_leftovers(self) -> None:
        """So that a failing test leaves nothing running either."""
        for task in self.tasks.values():
            if _alive(task.pid, task.start):
                os.kill(task.pid, signal.SIGKILL)


def _assert_nothing_left(watcher: Watcher, within: float) -> None:
    assert len(watcher.tasks) == 3, watcher.tasks
    assert len(watcher.ports) == 3, watcher.ports
    # The ports did listen during the run: their absence afterwards is not that of a blind scan.
    assert watcher.listened.keys() == watcher.ports
    _wait_until(lambda: not watcher.alive() and not watcher.still_listening(), within)
    assert watcher.alive() == []
    assert watcher.still_listening() == set()


# Popen calls, seen by an audit hook (installed once; it records only while a list is set) ------

_popens: list[tuple[object, ...]] | None = None
_hooked = False


def _audit(event: str, args: tuple[object, ...]) -> None:
    if event == "subprocess.Popen" and _popens is not None:
        _popens.append(args)


def _popen_calls(call: Callable[[], object]) -> list[tuple[object, ...]]:
    global _popens, _hooked
    if not _hooked:
        sys.addaudithook(_audit)
        _hooked = True
    _popens = []
    try:
        call()
    finally:
        calls, _popens = _popens, None
    return calls


# A successful run -------------------------------------------------------------------------------


@dataclass
class FinishedRun:
    steps: int
    losses: int
    watcher: Watcher
    children_before: set[tuple[int, int]]
    listening_before: set[int]


@pytest.fixture(scope="module")
def finished_run() -> Iterator[FinishedRun]:
    children_before = _children(os.getpid())
    listening_before = set(_listening())
    watcher = Watcher(os.getpid())
    try:
        with watcher:
            trajectory = train(prepare("quadratic", TrainConfig(steps=50)), 2, strict=True)
        yield FinishedRun(50, len(trajectory.losses), watcher, children_before, listening_before)
    finally:
        watcher.kill_leftovers()  # after the tests looked: it must not hide what was left


def test_a_finished_run_leaves_no_process_and_no_listening_port(finished_run: FinishedRun):
    watcher = finished_run.watcher
    assert finished_run.losses == finished_run.steps
    assert watcher.tasks.keys() == {"ps-0", "worker-0", "worker-1"}
    _assert_nothing_left(watcher, within=1.0)
    assert _children(os.getpid()) <= finished_run.children_before  # reaped, not zombies
    new_listeners = set(_listening()) - finished_run.listening_before
    assert new_listeners & watcher.ports == set()
    assert not watcher.tasks["ps-0"].spec_path.parent.exists()  # the run's directory is gone
    check_ports(sorted(watcher.ports))  # free again at once, TIME_WAIT notwithstanding


def test_task_servers_listen_on_loopback_only(finished_run: FinishedRun):
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(f"this machine allows no network namespace ({reason}): refused, see below")
    watcher = finished_run.watcher
    assert watcher.listened.keys() == watcher.ports  # seen listening, where the tasks run
    # TensorFlow binds 0.0.0.0 / [::]: the tasks' namespace holds loopback and nothing else...
    namespaces = {inode for inode, _ in watcher.networks.values()}
    assert len(namespaces) == 1, watcher.networks  # one namespace: the tasks reach each other
    assert namespaces != {os.stat("/proc/self/ns/net").st_ino}  # not ours
    assert [interfaces for _, interfaces in watcher.networks.values()] == [["lo"]] * 3
    # ...and in ours (where every other host's traffic arrives) none of the ports ever listened.
    assert watcher.listened_here == {}


# A task that dies -------------------------------------------------------------------------------


def test_a_killed_worker_is_one_error_naming_it_and_nothing_is_left():
    problem = prepare("quadratic", TrainConfig(steps=20000))
    outcome: dict[str, BaseException] = {}

    def run() -> None:
        try:
            train(problem, 2, strict=True, timeout=120)
        except BaseException as error:
            outcome["error"] = error

    watcher = Watcher(os.getpid())
    thread = threading.Thread(target=run, daemon=True)
    try:
        with watcher:
            thread.start()
            watcher.wait_for_training()
            victim = watcher.tasks["worker-1"]
            spec = json.loads(victim.spec_path.read_text())
            address = spec["cluster"]["worker"][1]
            os.kill(victim.pid, signal.SIGKILL)
            thread.join(timeout=30)
            assert not thread.is_alive(), "train() did not return after worker 1 was killed"
        error = outcome.get("error")
        assert isinstance(error, ClusterError), repr(error)
        message = str(error)
        assert message.startswith(f"worker 1 (pid {victim.pid}, {address}) "), message
        assert "SIGKILL" in message
        assert "\n" not in message
        _assert_nothing_left(watcher, within=1.0)
        assert not victim.spec_path.parent.exists()
    finally:
        watcher.kill_leftovers()
        thread.join(timeout=10)


# Ports ------------------------------------------------------------------------------------------


@pytest.fixture
def held_port():
    held = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    held.bind(("127.0.0.1", 0))
    held.listen()
    yield held.getsockname()[1]
    held.close()


def test_check_ports_refuses_a_port_another_socket_holds(held_port: int):
    with pytest.raises(ConfigError) as refused:
        check_ports([held_port])
    message = str(refused.value)
    assert f"port {held_port} " in message
    assert "cannot be bound" in message
    assert "\n" not in message


def test_check_ports_refuses_a_bound_port_nobody_listens_on():
    bound = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    bound.bind(("127.0.0.1", 0))
    try:
        port = bound.getsockname()[1]
        with pytest.raises(ConfigError, match=f"port {port} .*cannot be bound"):
            check_ports([port])
    finally:
        bound.close()


@pytest.mark.parametrize("port", [0, 70000, -1])
def test_check_ports_refuses_what_is_not_a_tcp_port(port: int):
    free = free_ports(1)[0]
    with pytest.raises(ConfigError, match=f"^--ports: {port} is not a TCP port"):
        check_ports([free, port])


def test_check_ports_refuses_one_port_for_two_tasks():
    free = free_ports(2)
    with pytest.raises(ConfigError, match="each task needs its own port"):
        check_ports([free[0], free[1], free[0]])


def test_check_ports_accepts_free_ports():
    check_ports(free_ports(3))


def test_bad_ports_stop_between_graph_training_before_any_process_starts(held_port: int):
    problem = prepare("quadratic", TrainConfig(steps=50))
    free = free_ports(2)
    bad = {
        "cannot be bound": (free[0], free[1], held_port),
        "is not a TCP port": (free[0], free[1], 0),
        "each task needs its own port": (free[0], free[1], free[1]),
        "2 ports given for 3 tasks": free,
    }
    children = _children(os.getpid())
    for expected, ports in bad.items():

        def call(ports: tuple[int, ...] = ports, expected: str = expected) -> None:
            with pytest.raises(ConfigError, match=expected):
                # A short timeout: were the ports let through, the run would fail, not hang.
                train(problem, 2, strict=True, ports=ports, timeout=20)

        assert _popen_calls(call) == [], f"ports {ports}: a process was started"
    assert _children(os.getpid()) == children


def test_free_ports_are_distinct_and_bindable_right_after():
    ports = free_ports(3)
    assert len(ports) == 3
    assert len(set(ports)) == 3
    assert all(1024 <= port <= 65535 for port in ports)
    sockets = []
    try:
        for port in ports:
            held = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sockets.append(held)
            held.bind(("127.0.0.1", port))  # raises if it were taken
            held.listen()
        assert {port for port in ports if port in _listening()} == set(ports)
    finally:
        for held in sockets:
            held.close()


# The driver interrupted or killed ---------------------------------------------------------------


def _start_driver(stderr_path: Path) -> subprocess.Popen[bytes]:
    with open(stderr_path, "wb") as stderr:
        return subprocess.Popen(
            [sys.executable, "-c", DRIVER],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=os.environ | {"TF_CPP_MIN_LOG_LEVEL": "3"},
            preexec_fn=_as_from_a_shell,
        )


def _as_from_a_shell() -> None:
    """In the child before it runs: SIGINT as a shell leaves it for a command it starts
    (default, unblocked), whatever a test run of hours left in this process: a child inherits
    an ignored or blocked signal, and in full suite runs the driver never stopped on SIGINT."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _end(driver: subprocess.Popen[bytes]) -> None:
    if driver.poll() is None:
        driver.kill()
    driver.wait()


def test_ctrl_c_stops_the_driver_and_every_task(tmp_path: Path):
    driver = _start_driver(tmp_path / "driver.stderr")
    watcher = Watcher(driver.pid)
    try:
        with watcher:
            watcher.wait_for_training()
            directory = watcher.tasks["ps-0"].spec_path.parent
            driver.send_signal(signal.SIGINT)
            # A bound for liveness, not a timing: in two full suite runs on 2 cores the driver
            # took more than 10 s to stop (alone, 1-3 s); it must stop by itself.
            status = driver.wait(timeout=60)
        stderr = (tmp_path / "driver.stderr").read_text(errors="replace")
        assert status != 0
        assert "KeyboardInterrupt" in stderr, stderr[-2000:]
        # The driver was told of SIGINT alone (tasks run in sessions of their own) and stopped
        # its tasks itself: they are gone as it exits, not seconds later by their own guards.
        _assert_nothing_left(watcher, within=0.1)
        assert not directory.exists()
    finally:
        _end(driver)
        watcher.kill_leftovers()


def test_tasks_whose_driver_is_killed_exit_by_themselves(tmp_path: Path):
    driver = _start_driver(tmp_path / "driver.stderr")
    watcher = Watcher(driver.pid)
    directory = None
    try:
        with watcher:
            watcher.wait_for_training()
            directory = watcher.tasks["ps-0"].spec_path.parent
            assert len(watcher.alive()) == 3
            driver.kill()  # SIGKILL: no cleanup runs in the driver; the tasks' guards must act
            driver.wait(timeout=10)
            _assert_nothing_left(watcher, within=5.0)
    finally:
        _end(driver)
        watcher.kill_leftovers()
        if directory is not None:
            shutil.rmtree(directory, ignore_errors=True)  # the killed driver could not


# Where no network namespace can be made ---------------------------------------------------------

NO_NAMESPACES = (
    # A user namespace of its own whose limits allow no further user or network namespace: a
    # machine that forbids them, made for real (the limits are per user namespace).
    "echo 0 > /proc/sys/user/max_user_namespaces && echo 0 > /proc/sys/user/max_net_namespaces "
    '&& exec "$@"'
)


def _run_without_namespaces(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    """`argv` where no network namespace can be made: here, if this machine allows none; else
    inside a user namespace whose limits forbid them."""
    if unavailable_reason() is not None:
        command = argv
    else:
        unshare = shutil.which("unshare")
        if unshare is None or subprocess.run([unshare, "-r", "true"]).returncode != 0:
            pytest.skip("cannot make a user namespace here to forbid network namespaces in")
        command = [unshare, "-r", "sh", "-c", NO_NAMESPACES, "sh", *argv]
    return subprocess.run(
        command,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_no_network_namespace_refuses_the_run_unless_open_ports_are_allowed(
    tmp_path: Path,
) -> None:
    output = tmp_path / "out.json"
    argv = [sys.executable, "-m", "graphmode", "train", "quadratic", "--replicas", "2"]
    argv += ["--steps", "5", "--output", str(output)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("TFBRIDGE_ALLOW_OPEN_PORTS", None)
    refused = _run_without_namespaces(argv, env)
    assert refused.returncode != 0
    message = " ".join(refused.stderr.split())
    assert "cannot keep the cluster on 127.0.0.1: no network namespace (" in message, message
    if unavailable_reason() is None:  # forbidden by the limits above: the kernel's own reason
        assert "(unshare(CLONE_NEWNET): No space left on device)" in message
    assert "TFBRIDGE_ALLOW_OPEN_PORTS=1" in message and "Traceback" not in refused.stderr
    assert not output.exists()

    allowed = _run_without_namespaces(argv, {**env, "TFBRIDGE_ALLOW_OPEN_PORTS": "1"})
    assert allowed.returncode == 0, allowed.stderr
    assert len(json.loads(output.read_text())["losses"]) == 5
