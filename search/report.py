"""Reports of finished studies: rich tables (front, best per objective, modes side by side), PNG plots, JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping, Sequence

from rich import box
from rich.markup import escape
from rich.table import Table

from . import metrics as M
from . import notation
from .results import Study
from .store import Trial

SHOWN = ("carbon_kg", "latency_s", "energy_j", "area_mm2", "accuracy")
# metric -> (factor from SI, display unit) for tables and plots
SCALE = {"latency_s": (1e3, "ms"), "energy_j": (1e3, "mJ"), "carbon_kg": (1.0, "kgCO2e"), "area_mm2": (1.0, "mm²"),
         "accuracy": (100.0, "%"), "carbon_per_inference_kg": (1e9, "µgCO2e"), "embodied_kg": (1.0, "kgCO2e"),
         "operational_kg": (1.0, "kgCO2e"), "peak_tops": (1.0, "TOPS"), "pes": (1.0, "MACs/cycle"),
         "utilisation": (100.0, "%"), "params": (1e-6, "M"), "macs": (1e-9, "G")}


def fmt(metric: str, v: float | None) -> str:
    if v is None:
        return "-"
    s, _ = SCALE.get(metric, (1.0, ""))
    return f"{v * s:.4g}"


def label(metric: str) -> str:
    """The metric's name without its SI suffix: ``carbon_kg`` -> ``carbon``."""
    return metric.rsplit("_", 1)[0] if metric in SCALE and "_" in metric else metric


def unit(metric: str) -> str:
    return SCALE[metric][1] if metric in SCALE else M.METRICS[metric].unit if metric in M.METRICS else ""


def header(metric: str, sep: str = " ") -> str:
    """Column header with its unit, e.g. ``carbon [kgCO2e]`` (``sep="\\n"`` puts the unit on a second line)."""
    return f"{label(metric)}{sep}[{unit(metric)}]"


def metric_columns(study: Study) -> list[str]:
    cols = list(study.objectives)
    return cols + [m for m in SHOWN if m not in cols and any(m in t.metrics for t in study.trials)]


def design_values(study: Study, config: Mapping[str, Any]) -> dict[str, Any]:
    """The design a trial stands for: the study's fixed knobs with the trial's searched values on top."""
    fixed = {n: v for sec in ("hardware", "schedule", "model") for n, v in study.spec.fixed(sec).items()}
    return {**fixed, **config}


def config_short(study: Study, t: Trial) -> str:
    return notation.short(design_values(study, t.config))


GAP = 1                 # characters between two columns (the rule-less box draws a blank between them)


def console_width() -> int:
    """The width tables are laid out for: the terminal's, or $COLUMNS, as rich sees it."""
    from rich.console import Console
    return Console().width


def accuracy_caption(study: Study, cols: Sequence[str]) -> str | None:
    """What measured the accuracy column (evaluator, data, network), or None when none is shown."""
    from .models import accuracy_source
    return f"accuracy: {accuracy_source(study.spec)}" if "accuracy" in cols else None


def _designs_table(title: str, rows: Sequence[tuple[Sequence[str], Trial, Study]], lead: Sequence[str],
                   required: Sequence[str], optional: Sequence[str], width: int | None) -> Table:
    """Designs as rows: lead columns, metric columns (header: name over unit) and the configuration in compact
    notation, never wrapped. ``optional`` metric columns are added, in order, only while the table fits
    ``width`` (default: the console's), so the configuration keeps its line at 100 columns."""
    width = width or console_width()
    configs = [config_short(st, t) for _, t, st in rows]
    cells = {c: [fmt(c, st.metrics_of(t).get(c)) for _, t, st in rows] for c in (*required, *optional)}

    def metric_w(c: str) -> int:
        return max(len(label(c)), len(unit(c)), *(len(v) for v in cells[c]))

    lead_w = [max([len(name)] + [len(r[0][i]) for r in rows]) for i, name in enumerate(lead)]
    cols = [c for c in required if any(v != "-" for v in cells[c])]
    used = sum(lead_w) + sum(metric_w(c) for c in cols) + max([len("configuration")] + [len(c) for c in configs])
    used += GAP * (len(lead) + len(cols))
    for c in optional:
        if any(v != "-" for v in cells[c]) and used + metric_w(c) + GAP <= width:
            cols.append(c)
            used += metric_w(c) + GAP
    legend = "configuration: " + notation.legend(design_values(st, t.config) for _, t, st in rows)
    acc = accuracy_caption(rows[0][2], cols) if rows else None
    legend += f"\n{acc}" if acc else ""
    tab = Table(title=escape(title), caption=escape(legend), caption_justify="left", box=box.SIMPLE_HEAD,
                show_edge=False, pad_edge=False, padding=0)
    for name in lead:
        tab.add_column(escape(name), justify="right" if name == "trial" else "left", no_wrap=True)
    for c in cols:
        tab.add_column(escape(f"{label(c)}\n{unit(c)}"), justify="right", no_wrap=True)
    tab.add_column("configuration", no_wrap=True)
    for i, ((lead_cells, _, _), cfg) in enumerate(zip(rows, configs)):
        tab.add_row(*lead_cells, *(cells[c][i] for c in cols), cfg)
    return tab


def trials_table(study: Study, rows: Sequence[Trial], title: str, width: int | None = None) -> Table:
    obj = list(study.objectives)
    return _designs_table(title, [([str(t.id)], t, study) for t in rows], ["trial"], obj,
                          [m for m in metric_columns(study) if m not in obj], width)


def front_table(study: Study, limit: int = 30, width: int | None = None) -> Table:
    f = study.front()
    return trials_table(study, f[:limit], f"{study.spec.name}: Pareto front ({len(f)} designs"
                        + (f", first {limit} shown)" if len(f) > limit else ")"), width)


def best_rows(study: Study) -> list[tuple[str, Trial]]:
    """(objective, its best feasible trial) for each objective that has one."""
    return [(o, b) for o in study.objectives if (b := study.best(o)) is not None]


def best_table(study: Study, width: int | None = None) -> Table:
    obj = list(study.objectives)
    rows = [([label(o), str(b.id)], b, study) for o, b in best_rows(study)]
    return _designs_table(f"{study.spec.name}: best design per objective", rows, ["best for", "trial"], obj,
                          [m for m in metric_columns(study) if m not in obj], width)


def compare_table(rows: Sequence[tuple[str, Trial, Study]], title: str = "modes side by side",
                  width: int | None = None) -> Table:
    """One row per (label, design, its study): e.g. the carbon-optimal beside the latency-optimal design."""
    cols = [c for c in SHOWN if any(c in st.metrics_of(t) for _, t, st in rows)]
    return _designs_table(title, [([lab], t, st) for lab, t, st in rows], ["mode"], cols[:3], cols[3:], width)


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
        cap = accuracy_caption(study, (a, b))
        if cap:
            import textwrap
            fig.text(0.01, 0.005, textwrap.fill(cap, 110), fontsize=6, va="bottom")
        ax.legend(fontsize=8)
        fig.tight_layout(rect=(0, 0.1 if cap else 0, 1, 1))
        p = out / "front.png"
        fig.savefig(p, dpi=110)
        plt.close(fig)
        paths.append(p)
    ks, hv = study.hypervolume_curve(points=100)
    if len(ks):
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.plot(ks, hv, c="tab:blue")
        ax.set_xlabel("designs stored, in order" if study.info.get("mode") in ("nested", "exhaustive") else "trials")
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
    from .models import accuracy_source
    s = study.summary()
    s["accuracy_source"] = accuracy_source(study.spec)
    s["plots"] = [str(p) for p in plot(study, out)]
    (out / "summary.json").write_text(json.dumps(s, indent=1, default=float))
    return s


def summary(study: Study, trials: bool = False) -> dict[str, Any]:
    """``study.summary()`` with each design's compact configuration, the units of the metrics (all SI) and the
    directory; with ``trials`` every trial too (what ``--json`` prints)."""
    s = study.summary()
    for d in s["front"] + [b for b in s["best"].values() if b]:
        d["short"] = notation.short(design_values(study, d["config"]))
    s["dir"] = str(study.dir)
    s["units"] = {m.name: m.unit for m in M.METRICS.values()}
    if trials:
        s["trials"] = [{"id": t.id, "status": t.status, "config": t.config, "metrics": study.metrics_of(t),
                        "origin": t.origin, "error": t.error} for t in study.trials]
    return s


def metric_help() -> str:
    return ", ".join(f"{m.name} [{m.unit}]" for m in M.METRICS.values())
