"""Reports of finished studies: rich tables (front, best per objective, modes side by side), PNG plots, JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from rich.table import Table

from . import metrics as M
from .results import Study
from .store import Trial

SHOWN = ("carbon_kg", "latency_s", "energy_j", "area_mm2", "accuracy")
SCALE = {"latency_s": (1e3, "ms"), "energy_j": (1e3, "mJ"), "carbon_kg": (1.0, "kg"), "area_mm2": (1.0, "mm2"),
         "accuracy": (100.0, "%"), "carbon_per_inference_kg": (1e9, "ug"), "embodied_kg": (1.0, "kg"),
         "operational_kg": (1.0, "kg")}


def fmt(metric: str, v: float | None) -> str:
    if v is None:
        return "-"
    s, _ = SCALE.get(metric, (1.0, ""))
    return f"{v * s:.4g}"


def header(metric: str) -> str:
    return f"{metric.rsplit('_', 1)[0] if metric in SCALE else metric} [{SCALE.get(metric, (1, ''))[1]}]"


def _metric_cols(study: Study) -> list[str]:
    cols = list(study.objectives)
    return cols + [m for m in SHOWN if m not in cols and any(m in t.metrics for t in study.trials)]


SHORT = {"cores": "cores", "pe_rows": "rows", "pe_cols": "cols", "local_buffer_kb": "lbKB",
         "local_bw_words_per_cycle": "lbw", "global_buffer_mb": "gbMB", "global_bw_words_per_cycle": "gbw"}


def _config(t: Trial) -> str:
    return " ".join(f"{SHORT.get(k, k)}={v}" for k, v in t.config.items())


def trials_table(study: Study, rows: Sequence[Trial], title: str) -> Table:
    cols = _metric_cols(study)
    tab = Table(title=title, show_lines=False)
    tab.add_column("trial", justify="right")
    for c in cols:
        tab.add_column(header(c), justify="right")
    tab.add_column("configuration")
    for t in rows:
        m = study.metrics_of(t)
        tab.add_row(str(t.id), *(fmt(c, m.get(c)) for c in cols), _config(t))
    return tab


def front_table(study: Study, limit: int = 30) -> Table:
    f = study.front()
    return trials_table(study, f[:limit], f"{study.spec.name}: Pareto front ({len(f)} designs"
                        + (f", first {limit} shown)" if len(f) > limit else ")"))


def best_table(study: Study) -> Table:
    cols = _metric_cols(study)
    tab = Table(title=f"{study.spec.name}: best design per objective")
    tab.add_column("optimised for")
    tab.add_column("trial", justify="right")
    for c in cols:
        tab.add_column(header(c), justify="right")
    tab.add_column("configuration")
    for o in study.objectives:
        b = study.best(o)
        if b is not None:
            m = study.metrics_of(b)
            tab.add_row(o, str(b.id), *(fmt(c, m.get(c)) for c in cols), _config(b))
    return tab


def compare_table(rows: Sequence[tuple[str, Trial, Study]], title: str = "modes side by side") -> Table:
    """One row per (label, design, its study): e.g. the carbon-optimal beside the latency-optimal design."""
    tab = Table(title=title)
    tab.add_column("mode")
    cols = [c for c in SHOWN if any(c in st.metrics_of(t) for _, t, st in rows)]
    for c in cols:
        tab.add_column(header(c), justify="right")
    tab.add_column("configuration")
    for label, t, st in rows:
        m = st.metrics_of(t)
        tab.add_row(label, *(fmt(c, m.get(c)) for c in cols), _config(t))
    return tab


def counts_line(study: Study) -> str:
    c = study.counts()
    info = study.info
    extra = f", {info['wall_s']:.1f} s wall" if "wall_s" in info else ""
    return (f"{c['trials']} trials: {c.get('ok', 0)} ok, {c.get('infeasible', 0)} missed a constraint, "
            f"{c.get('error', 0)} failed{extra}")


def plot(study: Study, out_dir: str | Path) -> list[Path]:
    """front.png (first two objectives; all feasible trials grey, the front in colour) and hypervolume.png."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    obj = study.objectives
    if len(obj) >= 2:
        a, b = obj[0], obj[1]
        sa, sb = SCALE.get(a, (1.0, ""))[0], SCALE.get(b, (1.0, ""))[0]
        fig, ax = plt.subplots(figsize=(6, 4.5))
        ok = study.feasible()
        ax.scatter([t.metrics[a] * sa for t in ok], [t.metrics[b] * sb for t in ok], s=8, c="0.75",
                   label=f"feasible trials ({len(ok)})")
        fr = study.front()
        ax.scatter([t.metrics[a] * sa for t in fr], [t.metrics[b] * sb for t in fr], s=18, c="tab:red",
                   label=f"Pareto front over {', '.join(obj)} ({len(fr)})")
        ax.set_xlabel(header(a))
        ax.set_ylabel(header(b))
        ax.set_title(study.spec.name)
        ax.legend(fontsize=8)
        fig.tight_layout()
        p = out / "front.png"
        fig.savefig(p, dpi=110)
        plt.close(fig)
        paths.append(p)
    ks, hv = study.hypervolume_curve(points=100)
    if len(ks):
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.plot(ks, hv, c="tab:blue")
        ax.set_xlabel("trials")
        ax.set_ylabel("hypervolume (normalised, ref 1.1)")
        ax.set_title(f"{study.spec.name}: hypervolume vs trials ({study.spec.optimizer.kind})")
        fig.tight_layout()
        p = out / "hypervolume.png"
        fig.savefig(p, dpi=110)
        plt.close(fig)
        paths.append(p)
    return paths


def write(study: Study, out_dir: str | Path | None = None) -> dict[str, Any]:
    """summary.json and the plots into the study's directory (or ``out_dir``); returns the summary."""
    out = Path(out_dir or study.dir)
    s = study.summary()
    s["plots"] = [str(p) for p in plot(study, out)]
    (out / "summary.json").write_text(json.dumps(s, indent=1, default=float))
    return s


def metric_help() -> str:
    return ", ".join(f"{m.name} [{m.unit}]" for m in M.METRICS.values())
