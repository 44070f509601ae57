"""What the benchmarks read about processes from /proc (CPU seconds, memory, process trees),
and how they stop the processes they started.

Shared by bench/dispatch.py and bench/inbound.py so that both count CPU the same way.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def _stat_fields(pid: int) -> list[str]:
    """/proc/<pid>/stat after the command name (which may hold spaces): fields 3 onwards."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2 :].split()


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, in seconds."""
    fields = _stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def every_process_cpu() -> dict[int, float]:
    """CPU seconds of every process on the machine, by pid.

    The machine's busy share is summed from processes because each process's own figures are
    exact (the kernel scales its tick samples to the scheduler's runtime), while /proc/stat's
    machine-wide ticks miss most of a process that runs on timers for less than a tick at a
    time: 6% busy against 35% from the processes' own CPU, for SDK creates spaced 1 ms apart.
    A process that ends in between is missed."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                found[int(entry.name)] = cpu_seconds(int(entry.name))
    return found


def machine_cpu_since(before: dict[int, float]) -> float:
    """CPU seconds every process used since ``before`` (every_process_cpu())."""
    return sum(max(0.0, cpu - before.get(pid, 0.0)) for pid, cpu in every_process_cpu().items())


def process_tree(root: int) -> list[int]:
    """root and every live process descended from it, root first."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                children.setdefault(int(_stat_fields(int(entry.name))[1]), []).append(
                    int(entry.name)
                )
    found, queue = [], [root]
    while queue:
        pid = queue.pop(0)
        found.append(pid)
        queue.extend(sorted(children.get(pid, [])))
    return found


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds of a process tree: each live process's utime + stime, plus cutime + cstime,
    the time of the children it has already reaped (a worker that died and was replaced)."""
    total = 0
    for pid in process_tree(root):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = _stat_fields(pid)
            total += sum(int(fields[i]) for i in (11, 12, 13, 14))
    return total / CLK_TCK


def rss_bytes(pid: int) -> int:
    """Resident memory of one process (/proc/<pid>/statm), in bytes."""
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_SIZE


def tree_rss(root: int) -> dict[int, int]:
    """Resident bytes of every live process of the tree, by pid, root first."""
    found = {}
    for pid in process_tree(root):
        with contextlib.suppress(OSError, ValueError, IndexError):
            found[pid] = rss_bytes(pid)
    return found


def stop(proc: subprocess.Popen[Any], timeout: float = 15.0) -> None:
    """SIGTERM (after SIGCONT, in case it was stopped), then SIGKILL if it outlives timeout."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGCONT)
            proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
