"""The rich progress bar of a running study: trials done, best value per objective, Pareto-front size."""

from __future__ import annotations

import numpy as np
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress

from . import metrics as M
from .proposers import cost_vector
from .store import Trial
from .study import StudySpec


def _fmt(x: float) -> str:
    return f"{x:.4g}"


class Progress:
    """Keeps the running front incrementally (a new point drops the points it dominates)."""

    def __init__(self, spec: StudySpec, total: int, enabled: bool = True):
        self.objectives = spec.objectives
        self.best: dict[str, float] = {}
        self.front: list[np.ndarray] = []
        self.failed = 0
        self.bar = None
        if enabled:
            self.bar = RichProgress(TextColumn(f"[bold]{spec.name}[/]"), BarColumn(), MofNCompleteColumn(),
                                    TimeElapsedColumn(), TextColumn("{task.fields[status]}"), transient=False)
            self.bar.start()
            self.task = self.bar.add_task("search", total=total, status="")

    def add(self, t: Trial, advance: int = 1) -> None:
        """Count a finished trial (``advance`` 0: another row of the same trial, e.g. a nested model's front)."""
        c = cost_vector(self.objectives, t)
        if t.ok and c is not None:
            for o, v in zip(self.objectives, c):
                self.best[o] = min(self.best.get(o, np.inf), v)
            if not any(np.all(f <= c) for f in self.front):
                self.front = [f for f in self.front if not (np.all(c <= f) and np.any(c < f))] + [c]
        else:
            self.failed += 1
        if self.bar is not None:
            best = " ".join(f"{o}={_fmt(M.cost(o, v))}" for o, v in self.best.items())
            self.bar.update(self.task, advance=advance, status=f"best {best}  front {len(self.front)}"
                            + (f"  failed/infeasible {self.failed}" if self.failed else ""))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
