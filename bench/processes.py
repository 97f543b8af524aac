"""CPU time of the processes a deployment runs (web, worker, PostgreSQL, Redis), read from /proc.

A benchmark takes a snapshot before and after its load and reports the difference per process
group: CPU seconds spent, whatever the wall clock or the other core was doing."""

import os
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[str, int, float] | None:
    """(command name, parent pid, CPU seconds of the process itself) or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    name = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    return name, int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS


def _processes() -> dict[int, tuple[str, int, float]]:
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))):
            found[int(entry.name)] = stat
    return found


def tree(root: int, processes: dict | None = None) -> set[int]:
    """The process and all its descendants."""
    processes = processes if processes is not None else _processes()
    members, grew = {root}, True
    while grew:
        grew = False
        for pid, (_, parent, _) in processes.items():
            if parent in members and pid not in members:
                members.add(pid)
                grew = True
    return members


def named(*names: str, processes: dict | None = None) -> set[int]:
    """Every process whose command name starts with one of the names (e.g. "postgres", "redis-server")."""
    processes = processes if processes is not None else _processes()
    return {pid for pid, (name, _, _) in processes.items() if name.startswith(names)}


@dataclass
class CpuMeter:
    """Groups of processes by label; `groups` maps a label to a function returning its pids now
    (new PostgreSQL backends appear during a run, so pids are looked up at every reading)."""

    groups: dict

    def start(self) -> None:
        self._before = self._snapshot()

    def _snapshot(self) -> dict[str, dict[int, float]]:
        processes = _processes()
        return {
            label: {pid: processes[pid][2] for pid in pids(processes) if pid in processes} for label, pids in self.groups.items()
        }

    def stop(self) -> dict[str, float]:
        """CPU seconds per group since start(). A process that started during the run counts from
        zero; one that ended during the run is lost (keep processes alive across the measurement)."""
        after = self._snapshot()
        return {label: sum(cpu - self._before[label].get(pid, 0.0) for pid, cpu in after[label].items()) for label in self.groups}


def web_and_services(*roots: int, label: str = "web") -> CpuMeter:
    """A meter for the process trees started by a benchmark (gunicorn, a worker), PostgreSQL and Redis."""
    groups = {f"{label}": lambda processes: set().union(*(tree(r, processes) for r in roots))}
    groups["postgresql"] = lambda processes: named("postgres", processes=processes)
    groups["redis"] = lambda processes: named("redis-server", processes=processes)
    return CpuMeter(groups)
