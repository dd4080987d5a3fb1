"""Two facts every local server and child process of airbricks needs: a free loopback port, and dying with
the process that started it. Standard library only: the task kernels and the command contexts import it.
"""

from __future__ import annotations

import contextlib
import ctypes
import shutil
import signal
import socket
import sys
from collections.abc import Callable

#: prctl(2) option: the signal the kernel sends this process when its parent dies (Linux).
PR_SET_PDEATHSIG = 1


def free_port(host: str = "127.0.0.1") -> int:
    """A port free on ``host`` now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def die_with_parent() -> None:
    """SIGKILL this process when its parent dies (Linux; a no-op elsewhere). Called in a child between fork and
    exec (``preexec_fn``) or first thing in a child's own main."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def dying_with_parent(command: list[str]) -> tuple[list[str], Callable[[], None] | None]:
    """``command`` made to die (SIGKILL) with the thread that starts it, and the ``preexec_fn`` that takes, if any.

    Linux's ``setpriv --pdeathsig`` (util-linux) sets it and execs the command, so no Python runs between fork and
    exec - which is unsafe in a process with other threads: a child calling into a lock another thread held at
    the fork (gRPC's threads in the server) can crash or hang. Without ``setpriv``, :func:`die_with_parent` runs as
    the ``preexec_fn``; elsewhere than Linux, the command is unchanged."""
    if not sys.platform.startswith("linux"):
        return command, None
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return command, die_with_parent
    return [setpriv, "--pdeathsig", "KILL", "--", *command], None
