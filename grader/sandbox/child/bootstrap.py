"""PID 1 of the sandbox at the ``namespaces`` level: build a private root, then run the worker.

The grader starts this file as root with ``unshare --pid --fork --kill-child --mount --net
--ipc --uts``, so it is process 1 of a fresh PID namespace, with its own mount table and a
network namespace that has no interface but a downed loopback.  It then:

1. mounts a small tmpfs as the new root and binds into it, read-only, only what a submission
   needs: the system directories, the Python installation and its site-packages (with the
   grader's own packages hidden under empty mounts), and the worker's code; the submission's
   working directory is the only writable place besides a private ``/tmp``; ``/dev`` holds only
   ``null``, ``zero``, ``full``, ``random`` and ``urandom``; ``/proc`` is read-only.  Other
   students' files, the grader's outputs and the home directories are simply not there.
2. ``pivot_root``s into it and detaches the old root;
3. forks the worker, which drops to an unprivileged uid and gid (so Linux enforces the process
   limit, which it never does for root), sets ``no_new_privs`` and executes Python;
4. stays as a reaper: it collects orphans, and when the worker exits it exits too, which makes
   the kernel kill every process left in the namespace, detached or not.  (A student's process
   must not be PID 1: PID 1 ignores default-action signals such as SIGXCPU.)

Exit status: the worker's exit code, ``128 + signal`` if a signal killed it, or
:data:`SETUP_FAILED` with a message on stderr if the sandbox could not be built.

Standard library only: this runs before any site-packages are reachable.  The spec comes as
hex-encoded :mod:`marshal` data, which the grader writes with this same Python: JSON would
import ``re`` and more, a noticeable part of this interpreter's start, which every sandbox
waits for.
"""

from __future__ import annotations

import ctypes
import os
import marshal
import signal
import sys

SETUP_FAILED = 121

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38

SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "arm64": 41}

DEVICES = ("null", "zero", "full", "random", "urandom")

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                        ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                        ctypes.c_ulong]


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _b(text: str | None) -> bytes | None:
    return None if text is None else os.fsencode(text)


def mount(source: str | None, target: str, fstype: str | None, flags: int,
          data: str | None = None) -> None:
    _check(_libc.mount(_b(source), _b(target), _b(fstype), flags, _b(data)), f"mount {target}")


def bind(source: str, target: str, *, writable: bool = False) -> None:
    """Bind ``source`` at ``target``, read-only unless asked, never with devices or setuid."""
    mount(source, target, None, MS_BIND)
    flags = MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | (0 if writable else MS_RDONLY)
    mount(None, target, None, flags)


def make_target(path: str, like: str) -> None:
    """Create a mount point for ``like`` at ``path``: a directory, or an empty file."""
    if os.path.isdir(like):
        os.makedirs(path, mode=0o755, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
        with open(path, "a"):
            pass


def build_root(spec: dict) -> None:
    root = spec["root"]
    inside = lambda path: os.path.join(root, path.lstrip("/"))  # noqa: E731
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=16m")
    # the private mounts first: binds may live below them (a virtualenv in /tmp, say) and
    # must land on top of them, not be hidden by them
    os.makedirs(inside("/tmp"), exist_ok=True)
    mount("tmpfs", inside("/tmp"), "tmpfs", MS_NOSUID | MS_NODEV,
          f"mode=1777,size={int(spec['tmp_bytes'])}")
    make_devices(inside("/dev"))
    proc = inside("/proc")
    os.makedirs(proc, exist_ok=True)
    mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    mount(None, proc, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
    for host, target in sorted(spec["ro_binds"], key=lambda pair: pair[1]):
        make_target(inside(target), host)
        bind(host, inside(target))
    for link, target in spec["symlinks"]:
        os.symlink(target, inside(link))
    for path in spec["hide"]:
        mount("tmpfs", inside(path), "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV,
              "mode=0555,size=4k")
    make_target(inside(spec["workdir_inside"]), spec["workdir"])
    bind(spec["workdir"], inside(spec["workdir_inside"]), writable=True)
    make_target(inside(spec["runtime_inside"]), spec["runtime"])
    bind(spec["runtime"], inside(spec["runtime_inside"]))
    pivot_into(root)


def make_devices(dev: str) -> None:
    """A ``/dev`` with only harmless devices: no disks, no terminals, no kernel memory."""
    os.makedirs(dev, exist_ok=True)
    mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k")
    for name in DEVICES:
        make_target(os.path.join(dev, name), f"/dev/{name}")
        mount(f"/dev/{name}", os.path.join(dev, name), None, MS_BIND)
    os.makedirs(os.path.join(dev, "shm"))
    mount("tmpfs", os.path.join(dev, "shm"), "tmpfs", MS_NOSUID | MS_NODEV,
          "mode=1777,size=16m")
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, os.path.join(dev, name))


def pivot_into(root: str) -> None:
    machine = os.uname().machine
    number = SYS_PIVOT_ROOT.get(machine)
    if number is None:
        raise OSError(0, f"pivot_root: unsupported architecture {machine}")
    os.chdir(root)
    os.mkdir(".oldroot")
    _check(_libc.syscall(number, b".", b".oldroot"), "pivot_root")
    os.chdir("/")
    _check(_libc.umount2(b"/.oldroot", MNT_DETACH), "umount old root")
    os.rmdir("/.oldroot")
    mount(None, "/", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def become_worker(spec: dict) -> None:
    """In the forked child: drop every privilege for good, then become the worker."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    uid, gid = int(spec["uid"]), int(spec["gid"])
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)  # all uids non-zero: the kernel clears every capability
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    keep = sorted(spec["keep_fds"])
    start = 3
    for fd in keep:  # close everything but stdio and the two pipes
        os.set_inheritable(fd, True)
        os.closerange(start, fd)
        start = fd + 1
    os.closerange(start, 65536)
    os.chdir(spec["workdir_inside"])
    os.execve(spec["argv"][0], spec["argv"], spec["env"])


def reap(worker: int) -> int:
    """Collect every child until the worker exits; return its status as an exit code."""
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return SETUP_FAILED
        except InterruptedError:
            continue
        if pid == worker:
            if os.WIFSIGNALED(status):
                return 128 + os.WTERMSIG(status)
            return os.WEXITSTATUS(status)


def main() -> None:
    try:
        spec = marshal.loads(bytes.fromhex(sys.argv[1]))
        build_root(spec)
    except Exception as err:  # the grader reports this as its own failure, not the student's
        sys.stderr.write(f"labgrade sandbox setup failed: {err}\n")
        os._exit(SETUP_FAILED)
    worker = os.fork()
    if worker == 0:
        try:
            become_worker(spec)
        except Exception as err:
            sys.stderr.write(f"labgrade sandbox setup failed: {err}\n")
        os._exit(SETUP_FAILED)
    for fd in spec["keep_fds"]:  # only the worker may hold the pipes: EOF must mean it is gone
        os.close(fd)
    os._exit(reap(worker))


if __name__ == "__main__":
    main()
