"""The report's plots as inline SVG drawn by matplotlib (no pyplot): Pareto fronts with hover hooks, the hypervolume
curve, and the carbon breakdown of the chosen designs with their uncertainty bands."""

from __future__ import annotations

import io
import itertools
import re
from typing import Any, Sequence

from .. import report as R

# embodied parts in warm colours, operational parts in cool ones (keys of backend.carbon's COMPONENTS)
PART_COLOURS = {"die": "#b5651d", "dram": "#e0a458", "package": "#f3d9a4",
                "operational_dynamic": "#2b6cb0", "leakage": "#63a4e8", "idle": "#b7d4f2"}
GREY, FRONT, CHOSEN = "#b8b8b8", "#d62728", "#111111"


def _figure(w_in: float, h_in: float, left_in: float = 0.9, bottom_in: float = 0.5, top_in: float = 0.35):
    """A figure with fixed margins (in inches; cheaper than a tight layout and the same for every plot)."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=(w_in, h_in))
    fig.subplots_adjust(left=left_in / w_in, right=1 - 0.15 / w_in, bottom=bottom_in / h_in, top=1 - top_in / h_in)
    return fig


def to_svg(fig, fid: str, groups: dict[str, Sequence[int]] | None = None, study: str = "") -> str:
    """The figure as an inline ``<svg>``: ids prefixed with ``fid`` (several plots share one page), no XML
    prologue or metadata, sized by CSS; ``groups`` (gid -> trial ids in drawing order) become hover hooks."""
    import matplotlib
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": fid, "font.size": 9}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, flags=re.S)
    text = re.sub(r'\sid="([^"]+)"', rf' id="{fid}-\1"', text)
    text = re.sub(r'xlink:href="#([^"]+)"', rf'xlink:href="#{fid}-\1"', text)
    text = re.sub(r"url\(#([^)]+)\)", rf"url(#{fid}-\1)", text)
    text = re.sub(r'<svg ([^>]*?)width="[^"]*" height="[^"]*"', r'<svg \1class="plot"', text, count=1)
    for gid, ids in (groups or {}).items():
        text = text.replace(f'<g id="{fid}-{gid}">', f'<g id="{fid}-{gid}" class="pts" data-study="{study}" '
                                                      f'data-trials="{",".join(map(str, ids))}">', 1)
    return text


def _values(study, trials, metric: str) -> list[float]:
    s = R.SCALE.get(metric, (1.0, ""))[0]
    return [study.metrics_of(t)[metric] * s for t in trials]


def plot_pairs(study) -> list[tuple[str, str]]:
    """Metric pairs to draw: every pair of objectives; with one objective, it against latency or carbon."""
    obj = list(study.objectives)
    if len(obj) >= 2:
        return list(itertools.combinations(obj, 2))
    other = next((m for m in ("latency_s", "carbon_kg", "area_mm2") if m != obj[0]), "area_mm2")
    return [(obj[0], other)]


def front_plot(study, a: str, b: str, fid: str, sid: str, chosen: Sequence[tuple[str, Any]]) -> str:
    """Feasible trials (grey), the Pareto front (red) and the chosen designs (rings, labelled) on metrics a, b."""
    ok = [t for t in study.feasible() if a in t.metrics and b in t.metrics]
    front = [t for t in study.front() if a in t.metrics and b in t.metrics]
    fig = _figure(5.0, 3.6)
    ax = fig.add_subplot()
    sc = ax.scatter(_values(study, ok, a), _values(study, ok, b), s=9, c=GREY, linewidths=0, zorder=3,
                    label=f"feasible trials ({len(ok)})")
    sc.set_gid("all")
    fr = sorted(front, key=lambda t: study.metrics_of(t)[a])
    if len(study.objectives) == 2:
        ax.plot(_values(study, fr, a), _values(study, fr, b), c=FRONT, lw=0.6, alpha=0.5)
    sf = ax.scatter(_values(study, fr, a), _values(study, fr, b), s=22, c=FRONT, linewidths=0, zorder=4,
                    label=f"Pareto front ({len(study.front())})")
    sf.set_gid("front")
    ch = [(lab, t) for lab, t in chosen if a in t.metrics and b in t.metrics]
    if ch:
        xs, ys = _values(study, [t for _, t in ch], a), _values(study, [t for _, t in ch], b)
        scc = ax.scatter(xs, ys, s=90, facecolors="none", edgecolors=CHOSEN, linewidths=1.2, zorder=5,
                         label="chosen designs")
        scc.set_gid("chosen")
        ax.autoscale_view()
        lo, hi = ax.get_xlim()
        for (lab, _), x, y in zip(ch, xs, ys):
            right = (x - lo) > 0.7 * (hi - lo)            # labels near the right edge go to the left of the ring
            ax.annotate(lab, (x, y), xytext=(-6 if right else 6, 5), textcoords="offset points", fontsize=8,
                        ha="right" if right else "left")
    ax.set_xlabel(R.header(a))
    ax.set_ylabel(R.header(b))
    ax.grid(True, lw=0.3, alpha=0.5)
    ax.legend(fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, frameon=False)
    return to_svg(fig, fid, {"all": [t.id for t in ok], "front": [t.id for t in fr],
                             "chosen": [t.id for _, t in ch]}, sid)


def hypervolume_plot(ks: Sequence[int], hv: Sequence[float], fid: str, title: str) -> str:
    fig = _figure(5.0, 2.8)
    ax = fig.add_subplot()
    ax.plot(ks, hv, c="#2b6cb0", lw=1.5, marker="o", ms=2)
    ax.set_xlabel("trials [count]")
    ax.set_ylabel("hypervolume [normalised]")
    ax.set_ylim(bottom=0)
    ax.set_title(title, fontsize=9)
    ax.grid(True, lw=0.3, alpha=0.5)
    return to_svg(fig, fid)


def carbon_plot(rows: Sequence[tuple[str, Any]], fid: str) -> str:
    """Stacked horizontal bars of the carbon parts per design, with the P5-P95 band of the total where computed."""
    fig = _figure(6.4, 1.2 + 0.5 * len(rows), left_in=1.5, bottom_in=0.5, top_in=0.4)
    ax = fig.add_subplot()
    labels = [lab for lab, _ in rows]
    y = list(range(len(rows)))
    parts = [p for p in PART_COLOURS if any(rep.breakdown_kg.get(p, 0) > 0 for _, rep in rows)]
    left = [0.0] * len(rows)
    for p in parts:
        w = [rep.breakdown_kg.get(p, 0.0) for _, rep in rows]
        ax.barh(y, w, left=left, color=PART_COLOURS[p], height=0.55, label=p.replace("_", " "))
        left = [a + b for a, b in zip(left, w)]
    for i, (_, rep) in enumerate(rows):
        if rep.bands is not None:
            b = rep.bands
            ax.errorbar([b.p50_kg], [i], xerr=[[b.p50_kg - b.p5_kg], [b.p95_kg - b.p50_kg]], fmt="|", c="#111",
                        capsize=4, lw=1, label="P5-P50-P95 (Monte Carlo)" if i == 0 else None)
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlabel("carbon over the deployment [kgCO2e]")
    ax.grid(True, axis="x", lw=0.3, alpha=0.5)
    ax.legend(fontsize=7, ncol=4, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    return to_svg(fig, fid)
