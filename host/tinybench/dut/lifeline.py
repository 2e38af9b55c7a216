"""A lifeline that kills a child process (QEMU) when tinybench dies, however it dies.

SIGKILL of tinybench runs no cleanup, and PR_SET_PDEATHSIG is no cure: it fires when the
*thread* that forked the child exits, and the shard workers start and restart QEMU from
short-lived threads. So each child gets a keeper: a tiny Python process holding one end of
a socket pair whose other end only tinybench holds (sockets are not inheritable, and every
Popen closes the fds it does not pass). When tinybench exits, dies or closes the lifeline,
the kernel closes tinybench's end, the keeper reads EOF and kills the child.

The keeper is started before the child, so the only unguarded moment is between the child's
start and watch() handing the keeper a pidfd of it (two system calls). The pidfd is opened
before anything can reap the child, so a recycled pid is never signalled. The keeper also
exits when the child exits on its own (the pidfd becomes readable). The child stays
tinybench's own child: its pid, poll() and exit code are unchanged.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from tinybench.errors import TinybenchError

# argv: the keeper's socket fd. It first receives the child's pidfd (nothing: tinybench died
# before handing it over, or never started the child), then waits for EOF or the child's
# exit. SIGINT is ignored so that Ctrl-C (sent to the whole process group) leaves the cleanup
# to tinybench's own handlers, as before.
_KEEPER_SOURCE = """
import os, select, signal, socket, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
link = socket.socket(fileno=int(sys.argv[1]))
_, fds, _, _ = socket.recv_fds(link, 16, 1)
if fds:
    pidfd = fds[0]
    while True:
        ready, _, _ = select.select([link, pidfd], [], [])
        if pidfd in ready:
            break
        if not link.recv(64):
            try:
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)
            except ProcessLookupError:
                pass
            break
"""

KEEPER_EXIT_WAIT_S = 5.0


class Lifeline:
    """Create it before the child, watch() the child at once: the child is then killed when
    this process closes the lifeline or dies (SIGKILL included)."""

    def __init__(self) -> None:
        if not hasattr(os, "pidfd_open") or not hasattr(socket, "send_fds"):
            raise TinybenchError("tinybench needs Linux 5.3+ (pidfd_open) to supervise QEMU")
        self._link, keeper_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._keeper = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _KEEPER_SOURCE, str(keeper_end.fileno())],
                pass_fds=(keeper_end.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        except OSError:
            self._link.close()
            raise
        finally:
            keeper_end.close()

    @property
    def keeper_pid(self) -> int:
        return self._keeper.pid

    def watch(self, child: subprocess.Popen[bytes]) -> None:
        """Hands the keeper a pidfd of `child`; call it before anything polls the child."""
        pidfd = os.pidfd_open(child.pid)
        try:
            socket.send_fds(self._link, [b"p"], [pidfd])
        finally:
            os.close(pidfd)

    def close(self) -> None:
        """Cuts the lifeline (the keeper kills the child if it still runs) and reaps the keeper."""
        self._link.close()
        try:
            self._keeper.wait(timeout=KEEPER_EXIT_WAIT_S)
        except subprocess.TimeoutExpired:
            self._keeper.kill()
            self._keeper.wait()
