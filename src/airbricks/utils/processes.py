"""Two facts every local server and child process of airbricks needs: a free loopback port, and dying with
the process that started it. Standard library only: the task kernels and the command contexts import it.
"""

from __future__ import annotations

import contextlib
import ctypes
import signal
import socket

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
