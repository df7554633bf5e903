"""Stored bench results: one JSON file per bench under bench/results/, a header (script, machine, date, commit)
plus the bench's own numbers, so every measured claim in the README can be traced to the run that made it.

    from provenance import Run          # bench scripts run as ``python bench/NAME.py``: bench/ is on sys.path
    run = Run("carbon_batch")           # starts the clock, reads the load average
    ...
    run.save({"designs_per_s": ...})    # -> bench/results/carbon_batch.json {"header": {...}, "result": {...}}
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
FORMAT = "catx-bench-result"
VERSION = 1
PACKAGES = ("numpy", "torch", "open_clip_torch", "apache-tvm", "smac", "scikit-learn")


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _commit() -> dict[str, Any]:
    """The commit the code ran at, when ROOT is itself a git checkout (a copy inside another repo has none)."""
    top = _git("rev-parse", "--show-toplevel")
    if not top or Path(top).resolve() != ROOT:
        return {"git_commit": None, "git_dirty": None}
    return {"git_commit": _git("rev-parse", "HEAD"),
            "git_dirty": bool(_git("status", "--porcelain", "--untracked-files=no"))}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except (OSError, ValueError):
        pass
    return None


def _gpu() -> str | None:
    """The GPU's name when torch is already loaded and sees one (never imports torch just to ask)."""
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return None


def machine() -> dict[str, Any]:
    """What the numbers depend on: processor, cores usable, memory, OS, Python and the key packages."""
    versions = {}
    for p in PACKAGES:
        try:
            versions[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            versions[p] = None
    return {"cpu": _cpu_model(), "logical_cpus": os.cpu_count(), "usable_cpus": len(os.sched_getaffinity(0)),
            "memory_gib": _memory_gib(), "os": platform.platform(), "python": platform.python_version(),
            "gpu": _gpu(), "omp_num_threads": os.environ.get("OMP_NUM_THREADS"), "packages": versions}


def _plain(value: Any) -> Any:
    """numpy scalars and arrays as plain numbers and lists."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"bench result holds a {type(value).__name__}, which JSON cannot store")


def _relative(path: str) -> str:
    p = Path(path).resolve()
    return str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(p)


class Run:
    """One bench run: created at the start, ``save`` writes the result with its header."""

    def __init__(self, name: str, script: str | None = None):
        self.name = name
        self.script = script or _relative(sys.argv[0])
        self.started = datetime.datetime.now(datetime.timezone.utc)
        self.t0 = time.perf_counter()
        self.load_start = os.getloadavg()

    def header(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, "bench": self.name, "script": self.script,
                "argv": sys.argv[1:], "date_utc": self.started.isoformat(timespec="seconds"),
                "wall_s": round(time.perf_counter() - self.t0, 3), **_commit(),
                "load_average_start": [round(x, 2) for x in self.load_start],
                "load_average_end": [round(x, 2) for x in os.getloadavg()], "machine": machine()}

    def save(self, result: Any, out: str | Path | None = None) -> Path:
        """Write {"header", "result"} to ``out`` (default bench/results/<name>.json); returns the path."""
        path = Path(out) if out else RESULTS / f"{self.name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"header": self.header(), "result": result}, indent=1, default=_plain) + "\n")
        tmp.replace(path)
        print(f"stored {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
        return path


def load(path: str | Path) -> dict[str, Any]:
    """A stored result; ValueError naming the file when it lacks the header."""
    doc = json.loads(Path(path).read_text())
    if not isinstance(doc, dict) or doc.get("header", {}).get("format") != FORMAT:
        raise ValueError(f"{path}: not a {FORMAT} file (no header; written before bench/provenance.py?)")
    return doc
