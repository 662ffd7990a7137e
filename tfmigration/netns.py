"""A network namespace that holds nothing but a loopback interface, for a local cluster's tasks.

TensorFlow's gRPC server listens on every interface whatever its cluster spec says
(`builder.AddListeningPort(strings::StrCat("0.0.0.0:", requested_port), ...)` in
tensorflow/core/distributed_runtime/rpc/grpc_server_lib.cc; the 2.21 wheel holds the same
"0.0.0.0:" literal), and a TensorFlow server runs any graph a client sends it. So the tasks of
a local cluster run inside a network namespace of their own whose only interface is `lo`: they
reach each other on 127.0.0.1, and nothing outside the namespace can reach them, whatever
address they bind.

Linux only, and no privilege needed where unprivileged user namespaces are allowed: one small
holder process (`python -m tfmigration.netns hold`) creates the namespaces, brings `lo` up and
waits on its standard input, so it ends with the run, or with the process that started it. Each
task starts as `python -m tfmigration.netns enter HOLDER_PID MODULE ARGS...`, which joins the
holder's namespaces while it is still single-threaded and then runs `python -m MODULE ARGS...`
in the same process (same pid, same parent, same signals).

No TensorFlow here: the namespace must be joined before TensorFlow starts its threads.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import runpy
import select
import socket
import struct
import subprocess
import sys

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_IFF_UP = 0x1
_IFREQ = "16sH22x"  # struct ifreq: the interface name, then the flags (a short), padded to 40
_START_SECONDS = 10.0


class NamespaceUnavailable(Exception):
    """This machine lets us make no network namespace (the reason is the message)."""


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        number = ctypes.get_errno()
        raise OSError(number, f"{what}: {os.strerror(number)}")


class LoopbackNetwork:
    """The holder of a loopback-only network namespace; `command` prefixes a task's argv."""

    def __init__(self) -> None:
        self._holder: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Create the namespace; NamespaceUnavailable (with the reason) if this machine won't."""
        if not sys.platform.startswith("linux"):
            raise NamespaceUnavailable(f"network namespaces are Linux's; this is {sys.platform}")
        holder = subprocess.Popen(
            [sys.executable, "-m", "tfmigration.netns", "hold"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._holder = holder
        assert holder.stdout is not None
        ready, _, _ = select.select([holder.stdout], [], [], _START_SECONDS)
        line = holder.stdout.readline().decode(errors="replace").strip() if ready else ""
        if line != "ready":
            self.stop()
            raise NamespaceUnavailable(
                line.removeprefix("error: ") or "the namespace holder did not start in time"
            )

    @property
    def pid(self) -> int:
        assert self._holder is not None, "start() first"
        return self._holder.pid

    def command(self, module: str, *args: str) -> list[str]:
        """The argv that runs `python -m module args...` inside the namespace."""
        return [sys.executable, "-m", "tfmigration.netns", "enter", str(self.pid), module, *args]

    def stop(self) -> None:
        """End the holder: the namespace goes when its last task has gone too."""
        holder, self._holder = self._holder, None
        if holder is None:
            return
        if holder.stdin is not None:
            holder.stdin.close()
        try:
            holder.wait(timeout=3)
        except subprocess.TimeoutExpired:
            holder.kill()
            holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()


def unavailable_reason() -> str | None:
    """Why this machine lets us make no loopback-only network namespace; None when it does."""
    network = LoopbackNetwork()
    try:
        network.start()
    except NamespaceUnavailable as reason:
        return str(reason)
    network.stop()
    return None


# The holder and the tasks' entry: run as `python -m tfmigration.netns ...` --------------------


def _bring_loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        request = struct.pack(_IFREQ, b"lo", 0)
        flags = struct.unpack(_IFREQ, fcntl.ioctl(probe, _SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(probe, _SIOCSIFFLAGS, struct.pack(_IFREQ, b"lo", flags | _IFF_UP))


def _hold() -> int:
    libc = _libc()
    uid, gid = os.geteuid(), os.getegid()
    try:
        if uid == 0:
            # Root needs no user namespace (and some containers allow only the network one).
            _check(libc.unshare(CLONE_NEWNET), "unshare(CLONE_NEWNET)")
        else:
            _check(libc.unshare(CLONE_NEWUSER | CLONE_NEWNET), "unshare(CLONE_NEWUSER|NEWNET)")
            # Keep our own ids inside: files the tasks write stay ours.
            with open("/proc/self/setgroups", "w") as setgroups:
                setgroups.write("deny")
            with open("/proc/self/uid_map", "w") as uid_map:
                uid_map.write(f"{uid} {uid} 1")
            with open("/proc/self/gid_map", "w") as gid_map:
                gid_map.write(f"{gid} {gid} 1")
        _bring_loopback_up()
    except OSError as error:
        print(f"error: {error.strerror or error}", flush=True)
        return 1
    print("ready", flush=True)
    while sys.stdin.buffer.read(4096):  # until the parent closes the pipe, or is gone
        pass
    return 0


def _enter(holder: int, module: str, args: list[str]) -> None:
    libc = _libc()
    for kind, flag in (("user", CLONE_NEWUSER), ("net", CLONE_NEWNET)):
        theirs = f"/proc/{holder}/ns/{kind}"
        if os.stat(theirs).st_ino == os.stat(f"/proc/self/ns/{kind}").st_ino:
            continue  # already there (root uses no user namespace of its own)
        descriptor = os.open(theirs, os.O_RDONLY)
        try:
            _check(libc.setns(descriptor, flag), f"setns({theirs})")
        finally:
            os.close(descriptor)
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


def main(argv: list[str]) -> int:
    if argv[:1] == ["hold"]:
        return _hold()
    if len(argv) >= 3 and argv[0] == "enter":
        try:
            _enter(int(argv[1]), argv[2], argv[3:])
        except OSError as error:
            if error.errno == errno.ENOENT:
                print("the cluster's network namespace is gone", file=sys.stderr)
            else:
                print(f"cannot join the cluster's network namespace: {error}", file=sys.stderr)
            return 1
        return 0
    print("usage: python -m tfmigration.netns hold | enter PID MODULE ARGS...", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
