"""How long the README's set-up takes here: its install command in a fresh copy, and its test command's suite.

    python bench/setup_time.py --part install   # -> bench/results/setup_install.json
    python bench/setup_time.py --part suite     # -> bench/results/setup_suite.json

``install``: the committed tree (``git archive HEAD``) is copied to a temporary folder, where the README's test
command up to its ``pytest`` step (``python3 -m venv .venv && . .venv/bin/activate && pip install -c constraints.txt
-e ".[test]"``) runs verbatim under bash, as on a fresh machine (packages come from whatever index pip is set up to
use here); it records wall and CPU seconds, the virtual environment's size on disk, and removes the copy.
``suite``: the README's ``python -m pytest -n 2 tests`` in this checkout with this Python (the same packages the
install gives), wall and CPU seconds and the pytest summary. Both record the load average: the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from provenance import Run  # noqa: E402

SUMMARY = re.compile(r"(?:=+ )?(?P<text>(?:\d+ \w+(?:, )?)+) in (?P<seconds>[\d.]+)s")


def readme_test_command() -> str:
    """The README's second set-up command (tests/test_readme.py keeps it the one .ci/run runs)."""
    setup = (ROOT / "README.md").read_text().split("## Set up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```(?:bash|sh)\n(.+?)\n```", setup, flags=re.S)[1].strip()


def timed(cmd: list[str], cwd: Path, env: dict | None = None) -> tuple[subprocess.CompletedProcess, float, float]:
    """Run ``cmd``; (result, wall seconds, CPU seconds of it and every process it waited for)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r, wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def size_bytes(path: Path) -> int:
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def install() -> dict:
    full = readme_test_command()
    cmd = full.split(" && python -m pytest", 1)[0]
    assert cmd != full and "pip install" in cmd, f"README's test command has changed shape: {full!r}"
    tmp = Path(tempfile.mkdtemp(prefix="catx-setup-time-"))
    try:
        subprocess.run(f"git archive HEAD | tar -x -C {tmp}", shell=True, cwd=ROOT, check=True)
        r, wall, cpu = timed(["bash", "-c", cmd], tmp)
        if r.returncode != 0:
            raise SystemExit(f"install failed (exit {r.returncode}): {r.stderr[-2000:]}")
        check = subprocess.run([str(tmp / ".venv" / "bin" / "catx"), "--help"], capture_output=True, text=True)
        venv = tmp / ".venv"
        return {"command": cmd, "wall_s": wall, "cpu_s": cpu, "venv_bytes": size_bytes(venv),
                "packages": len(list((venv / "lib").glob("python3*/site-packages/*.dist-info"))),
                "catx_help_exit": check.returncode,
                "pip_tail": r.stdout.strip().splitlines()[-1][:300] if r.stdout.strip() else ""}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def suite() -> dict:
    cmd = readme_test_command().split(" && ")[-1]
    assert cmd.startswith("python -m pytest"), cmd
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    r, wall, cpu = timed([sys.executable, *cmd.split()[1:]], ROOT, env)
    m = None
    for m in SUMMARY.finditer(r.stdout):
        pass
    counts = {k: int(n) for n, k in re.findall(r"(\d+) (\w+)", m.group("text"))} if m else {}
    return {"command": cmd, "exit": r.returncode, "wall_s": wall, "cpu_s": cpu, "counts": counts,
            "pytest_s": float(m.group("seconds")) if m else None,
            "summary": r.stdout.strip().splitlines()[-1][:300] if r.stdout.strip() else "",
            "failures": [ln for ln in r.stdout.splitlines() if ln.startswith(("FAILED", "ERROR"))][:50]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=("install", "suite"), required=True)
    a = ap.parse_args()
    run = Run(f"setup_{a.part}")
    res = install() if a.part == "install" else suite()
    print({k: v for k, v in res.items() if k != "failures"})
    run.save(res)
    return 0 if res.get("exit", 0) == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
