"""Finding the studies of a run folder for ``catx report`` (a study, or a folder of studies such as the flagship's)
and reading them with typed errors; a study with fewer trials than planned is marked partial."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from ..errors import ReportError, SearchError, StoreError
from ..results import Study
from ..store import FILE


@dataclass
class Loaded:
    """A study as the report shows it: its results and whether the run is complete."""

    study: Study
    partial: bool
    planned: int

    @property
    def status(self) -> str:
        n = len(self.study.trials)
        if not self.partial:
            return f"complete: {n} trials"
        return (f"PARTIAL: {n} of {self.planned} trials stored so far (the study is still running or was "
                f"interrupted; resume it with `catx search ... --resume`)")


def study_dirs(run_dir: str | Path) -> list[Path]:
    """``run_dir`` itself when it holds a store, else its sub-folders that do (one level down), sorted."""
    root = Path(run_dir)
    if not root.is_dir():
        raise ReportError(f"{run_dir}: no such folder; give the results folder of `catx search` (--out)")
    if (root / FILE).is_file():
        return [root]
    found = sorted(p.parent for p in root.glob(f"*/{FILE}"))
    if not found:
        raise ReportError(f"{run_dir}: no study here (no {FILE} in it or in its sub-folders); "
                          f"run `catx search STUDY --out {run_dir}` first")
    return found


def load_study(directory: Path) -> Loaded:
    """One study, or a StoreError naming the file when the store is corrupt or holds no study definition."""
    path = directory / FILE
    try:
        if path.stat().st_size == 0:
            raise StoreError(f"{path}: empty file, not a results store")
        st = Study.load(directory)
    except SearchError:
        raise
    except (sqlite3.Error, json.JSONDecodeError, KeyError, TypeError, ValueError, OSError) as e:
        raise StoreError(f"{path}: corrupt results store ({type(e).__name__}: {e})") from None
    if st.spec is None:
        raise StoreError(f"{path}: the store holds no study definition (the study never started)")
    planned = st.spec.optimizer.trials
    partial = len(st.trials) < planned and not st.info.get("space_exhausted", False)
    return Loaded(st, partial, planned)


def load(run_dir: str | Path) -> list[Loaded]:
    return [load_study(d) for d in study_dirs(run_dir)]
