"""A lifeline that kills a child process (QEMU) when tinybench dies, however it dies.

SIGKILL of tinybench runs no cleanup, and PR_SET_PDEATHSIG is no cure: it fires when the
*thread* that forked the child exits, and the shard workers start and restart QEMU from
short-lived threads. So each child gets a keeper: a tiny Python process that holds the read
end of a pipe whose write end only tinybench holds (os.pipe fds are not inheritable, and
every Popen closes the fds it does not pass). When tinybench exits, dies or closes the
lifeline, the kernel closes the write end, the keeper reads EOF and kills the child.

The child stays tinybench's own child (its pid, poll() and semihosting exit code are
unchanged). The keeper addresses it through a pidfd opened here right after the fork, before
anything can reap it, so a recycled pid is never signalled. It also exits when the child
exits on its own (the pidfd becomes readable), so a finished QEMU leaves no keeper behind.
"""

from __future__ import annotations

import os
import subprocess
import sys

from tinybench.errors import TinybenchError

# argv: the pipe's read fd, the child's pidfd. SIGINT is ignored so that Ctrl-C (sent to the
# whole process group) leaves the cleanup to tinybench's own handlers, as before.
_KEEPER_SOURCE = """
import os, select, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
lifeline, pidfd = int(sys.argv[1]), int(sys.argv[2])
while True:
    ready, _, _ = select.select([lifeline, pidfd], [], [])
    if pidfd in ready:
        break
    if not os.read(lifeline, 64):
        try:
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        except ProcessLookupError:
            pass
        break
"""

KEEPER_EXIT_WAIT_S = 5.0


class Lifeline:
    """Kills `child` when this process closes the lifeline or dies (SIGKILL included)."""

    def __init__(self, child: subprocess.Popen[bytes]) -> None:
        if not hasattr(os, "pidfd_open"):
            raise TinybenchError("tinybench needs Linux 5.3+ (pidfd_open) to supervise QEMU")
        # Opened before anyone polls the child, so the pidfd names this child and no other.
        pidfd = os.pidfd_open(child.pid)
        read_fd, self._write_fd = os.pipe()
        try:
            self._keeper = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _KEEPER_SOURCE, str(read_fd), str(pidfd)],
                pass_fds=(read_fd, pidfd),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        except OSError:
            os.close(self._write_fd)
            raise
        finally:
            os.close(read_fd)
            os.close(pidfd)

    @property
    def keeper_pid(self) -> int:
        return self._keeper.pid

    def close(self) -> None:
        """Cuts the lifeline (the keeper kills the child if it still runs) and reaps the keeper."""
        if self._write_fd >= 0:
            os.close(self._write_fd)
            self._write_fd = -1
        try:
            self._keeper.wait(timeout=KEEPER_EXIT_WAIT_S)
        except subprocess.TimeoutExpired:
            self._keeper.kill()
            self._keeper.wait()
