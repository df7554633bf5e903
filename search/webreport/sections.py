"""The report's sections as HTML: study definition, fronts, best designs, carbon breakdown, per-op tables,
hypervolume and the comparison with the paper."""

from __future__ import annotations

from typing import Any, Sequence

from backend.carbon.model import COMPONENTS, EMBODIED

from .. import metrics as M
from .. import notation, paper
from .. import report as R
from ..results import Study
from . import plots
from .designs import Design
from .html import details, esc, kv, num, table

PART_NAMES = {"die": "die", "dram": "DRAM", "package": "package", "operational_dynamic": "dynamic",
              "leakage": "leakage", "idle": "idle"}


# -- study definition ----------------------------------------------------------------------------------------------
def _knob_text(v: Any) -> str:
    if isinstance(v, dict):
        r = f"{v['lo']:g} .. {v['hi']:g}"
        return r + (f" step {v['step']:g}" if v.get("step") else "") + (" (log)" if v.get("log") else "")
    if isinstance(v, (list, tuple)):
        return ", ".join(str(x) for x in v)
    return f"{v} (fixed)"


def definition(study: Study) -> str:
    s = study.spec
    objectives = ", ".join(f"{'max' if not M.METRICS[o].minimize else 'min'} {o} [{M.METRICS[o].unit}]"
                           for o in s.objectives)
    cons = "; ".join(f"{c.metric} {'≤ ' + format(c.max, 'g') if c.max is not None else ''}"
                     f"{' ≥ ' + format(c.min, 'g') if c.min is not None else ''} [{M.METRICS[c.metric].unit}]"
                     for c in s.constraints) or "none"
    o = s.optimizer
    rows = [("name", s.name), ("description", s.description or "-"),
            ("model", f"{s.model.spec}, tower {s.model.tower}, batch {s.model.batch}"),
            ("hardware template", s.hardware.template), ("scenario", s.scenario), ("objectives", objectives),
            ("constraints", cons), ("optimizer", f"{o.kind}, {o.trials} trials, seed {o.seed}, {o.workers} worker(s)")]
    if s.needs_accuracy:
        f = s.fidelity
        rows.append(("accuracy", f"low fidelity {f.low}" + (f", high fidelity {f.high} for the best {f.promote}"
                                                            if f.high else "")))
    if s.forbidden:
        rows.append(("forbidden", "; ".join(", ".join(f"{k}={v}" for k, v in c.items()) for c in s.forbidden)))
    knobs = [(sec, n, _knob_text(v)) for sec in ("model", "hardware", "schedule")
             for n, v in getattr(s, sec).knobs.items()]
    info = study.info
    run = []
    if info.get("trials_per_s"):
        run.append(f"{info['trials_per_s']:.1f} trials/s")
    if info.get("space_size"):
        run.append(f"space of {int(info['space_size']):,} designs")
    body = table(["field", "value"], rows, "def")
    body += "<h4>Knobs</h4>" + table(["section", "knob", "values"], knobs, "def")
    body += f"<p class=muted>{esc(R.counts_line(study))}{'; ' + esc(', '.join(run)) if run else ''}</p>"
    return body + details("the full definition", kv(s.model_dump(mode="json")), "raw")


# -- trials: front and best ----------------------------------------------------------------------------------------
def trial_rows(study: Study, trials: Sequence, lead: Sequence[str] | None = None) -> tuple[list[str], list]:
    cols = R.metric_columns(study)
    headers = (["best for"] if lead is not None else []) + ["trial"] + [R.header(c) for c in cols] + ["configuration"]
    rows = []
    for i, t in enumerate(trials):
        m = study.metrics_of(t)
        rows.append(([esc(lead[i])] if lead is not None else []) + [str(t.id)]
                    + [R.fmt(c, m.get(c)) for c in cols] + [f"<code>{esc(R.config_short(study, t))}</code>"])
    return headers, rows


def _numeric(headers: Sequence[str]) -> list[bool]:
    return [h == "trial" or "[" in h for h in headers]


def front_section(study: Study, sid: str, chosen: Sequence[tuple[str, Any]], fid: str) -> str:
    if not study.feasible():
        c = study.counts()
        return (f"<p class=warn>No feasible trial yet: {c.get('infeasible', 0)} missed a constraint, "
                f"{c.get('error', 0)} failed.</p>")
    figs = [plots.front_plot(study, a, b, f"{fid}p{i}", sid, chosen)
            for i, (a, b) in enumerate(plots.plot_pairs(study))]
    front = study.front()
    headers, rows = trial_rows(study, front)
    shown, rest = rows[:20], rows[20:]
    body = (f'<div class="plots">{"".join(f"<figure>{f}</figure>" for f in figs)}</div>'
            f"<p class=muted>Grey: feasible trials; red: the Pareto front over {', '.join(study.objectives)}; "
            "rings: the chosen designs. Hover a point for its trial.</p>")
    body += table(headers, shown, "trials", _numeric(headers), raw=True)
    if rest:
        body += details(f"all {len(front)} designs of the front", table(headers, rows, "trials", _numeric(headers),
                                                                       raw=True))
    return body


def best_section(study: Study) -> str:
    picks = R.best_rows(study)
    if not picks:
        return "<p>No feasible trial yet.</p>"
    headers, rows = trial_rows(study, [t for _, t in picks], [R.label(o) for o, _ in picks])
    body = table(headers, rows, "trials", _numeric(headers), raw=True)
    full = {f"trial {t.id} (best {R.label(o)})": R.design_values(study, t.config) for o, t in picks}
    return body + details("every knob of these designs", kv(full), "raw")


# -- carbon --------------------------------------------------------------------------------------------------------
def carbon_section(designs: Sequence[Design], fid: str) -> str:
    rows = [(d.label, d.carbon) for d in designs if d.carbon is not None]
    if not rows:
        return "<p>No carbon breakdown: no design could be evaluated.</p>"
    parts = [p for p in COMPONENTS if any(rep.breakdown_kg.get(p, 0.0) for _, rep in rows)]
    zero = [PART_NAMES[p] for p in COMPONENTS if p not in parts]
    headers = (["design"] + [f"{'embodied' if p in EMBODIED else 'operational'}: {PART_NAMES[p]} [kgCO2e]"
                             for p in parts]
               + ["embodied [kgCO2e]", "operational [kgCO2e]", "total [kgCO2e]", "P5 [kgCO2e]", "P50 [kgCO2e]",
                  "P95 [kgCO2e]", "per inference [µgCO2e]"])
    trs = []
    for lab, rep in rows:
        b = rep.bands
        band = [num(b.p5_kg), num(b.p50_kg), num(b.p95_kg)] if b else ["-", "-", "-"]
        trs.append([esc(lab)] + [num(rep.breakdown_kg.get(p, 0.0)) for p in parts]
                   + [num(rep.embodied_kg), num(rep.operational_kg), f"<b>{num(rep.total_kg)}</b>"] + band
                   + [num(rep.total_per_inference_kg * 1e9)])
    rep0 = rows[0][1]
    body = f'<figure class="wide">{plots.carbon_plot(rows, fid)}</figure>'
    body += table(headers, trs, "trials carbon", [False] + [True] * (len(headers) - 1), raw=True)
    bands = f"; bands from {rep0.bands.samples:,} Monte Carlo samples (seed {rep0.bands.seed}) over every " \
            "constant's low/high range" if rep0.bands else ""
    body += (f"<p class=muted>Scenario {esc(rep0.scenario)}: {rep0.inferences:,.0f} inferences per device, grid "
             f"{rep0.grid_g_per_kwh:g} g/kWh, die carbon {rep0.cpa_g_per_cm2:,.1f} g/cm² after yield "
             f"{rep0.yield_:.3f}{bands}" + (f"; zero in this scenario: {', '.join(zero)}" if zero else "")
             + ".</p>")
    if rep0.tornado:
        tr = [(s.name, f"{s.low:g} .. {s.high:g} {s.unit}", num(s.total_at_low_kg), num(s.total_at_high_kg),
               num(s.swing_kg)) for s in rep0.tornado]
        body += details(f"largest drivers of the uncertainty ({esc(rows[0][0])})",
                        table(["constant", "range", "total at low [kgCO2e]", "total at high [kgCO2e]",
                               "swing [kgCO2e]"], tr, "trials", [False, False, True, True, True]))
    assumptions = [(c.name, num(c.value), c.unit, f"{c.low:g} .. {c.high:g}", c.source) for c in rep0.assumptions]
    body += details("constants used (value, range, source)",
                    table(["constant", "value", "unit", "range", "source"], assumptions, "trials small"))
    return body


# -- per-op tables -------------------------------------------------------------------------------------------------
OP_HEADERS = ("op", "source", "kind", "repeat [x]", "latency [ms]", "share [%]", "energy [mJ]", "bound",
              "utilisation [%]", "schedule")


def _source(graph, name: str) -> str:
    """The op's place in the model when the frontend recorded one (``Op.source``), else nothing."""
    try:
        op = graph.op(name)
    except KeyError:
        return ""
    src = getattr(op, "source", None)
    if isinstance(src, (list, tuple)):
        src = ", ".join(map(str, src))
    return str(src or "")


def op_table(d: Design) -> str:
    from backend.report import loop_nest, summary
    est = d.estimate
    total = est.latency_s if est.latency_s and est.latency_s != float("inf") else 1.0
    sources = {r.name: _source(d.graph, r.name) for r in est.ops}
    has_source = any(sources.values())
    heads = [h for h in OP_HEADERS if has_source or h != "source"]
    cls = "ops src" if has_source else "ops"
    out = [f'<div class="{cls}">', "", '<div class="oprow head">' + "".join(f"<span>{esc(h)}</span>" for h in heads)
           + "</div>"]
    for r in est.ops:
        s = r.schedule
        lat = r.latency_s * r.repeat
        share = 100 * lat / total
        util = s.get("utilisation")
        cells = [f"<span class=name>{esc(r.name)}</span>"]
        if has_source:
            cells.append(f"<span class=src>{esc(sources[r.name])}</span>")
        cells += [f"<span>{esc(r.kind)}{' ' + esc(r.fn) if r.fn else ''}</span>", f"<span class=n>{r.repeat}</span>",
                  f"<span class=n>{num(lat * 1e3)}</span>",
                  f'<span class="n bar" style="--w:{min(share, 100):.1f}%">{share:.1f}</span>',
                  f"<span class=n>{num(r.energy_j * r.repeat * 1e3)}</span>",
                  f"<span>{esc(s.get('bound', '-'))}</span>",
                  f"<span class=n>{num(100 * util) if isinstance(util, (int, float)) else '-'}</span>",
                  f"<span class=sched>{esc(summary(s))}</span>"]
        nest = "\n".join(loop_nest(s))
        facts = {"cycles (one execution)": r.cycles, "MACs (one execution)": r.macs,
                 "latency, one execution [ms]": r.latency_s * 1e3, "energy, one execution [mJ]": r.energy_j * 1e3,
                 "energy by component [mJ]": {k: v * 1e3 for k, v in r.energy_by_component_j.items()}}
        body = (f'<div class="opbody"><h5>loop nest</h5><pre>{esc(nest)}</pre>'
                f"<h5>costs</h5>{kv(facts)}<h5>schedule</h5>{kv(s)}</div>")
        cls = "op" + ("" if r.feasible else " infeasible") + (" free" if s.get("view") else "")
        out.append(f'<details class="{cls}"><summary class="oprow">{"".join(cells)}</summary>{body}</details>')
    views = sum(1 for r in est.ops if r.schedule.get("view"))
    toggle = (f'<label class="toggle"><input type="checkbox"> show the {views} free views (reshapes, transposes '
              "that cost nothing)</label>" if views else "")
    out[1] = toggle
    return "".join(out) + "</div>"


def design_summary(d: Design) -> str:
    est = d.estimate
    e = est.energy_by_component_j
    rows = [("latency [ms]", num(est.latency_s * 1e3)), ("energy [mJ]", num(est.energy_j * 1e3)),
            ("EDP [mJ·ms]", num(est.energy_j * est.latency_s * 1e6)),
            ("utilisation [%]", num(100 * est.utilisation)), ("area [mm²]", num(est.area_mm2)),
            ("peak [TOPS]", num(est.peak_tops)), ("leakage power [mW]", num(est.leakage_power_w * 1e3)),
            ("MACs [G]", num(est.macs / 1e9)), ("ops stored / executed", f"{len(est.ops)} / "
                                                                     f"{sum(r.repeat for r in est.ops):,}"),
            ("energy by component [%]", ", ".join(f"{k} {100 * v / est.energy_j:.1f}" for k, v in e.items()
                                                  if est.energy_j)),
            ("area by component [mm²]", ", ".join(f"{k} {v:.3g}" for k, v in est.area_by_component_mm2.items()))]
    if d.values:
        rows.insert(0, ("configuration", f"<code>{esc(notation.short(d.values))}</code>"))
    body = table(["quantity", "value"], [(esc(k), v) for k, v in rows], "def", raw=True)
    if not est.feasible:
        body += f"<p class=warn>Infeasible: {esc('; '.join(est.infeasible))}</p>"
    for n in d.notes:
        body += f"<p class=warn>{esc(n)}</p>"
    return body


def ops_section(designs: Sequence[Design]) -> str:
    if not designs:
        return "<p>No design to detail.</p>"
    out = []
    for i, d in enumerate(designs):
        est = d.estimate
        head = (f"{esc(d.label)}{' (trial ' + str(d.trial.id) + ')' if d.trial else ''}: {len(est.ops)} ops, "
                f"{num(est.latency_s * 1e3)} ms, {num(est.energy_j * 1e3)} mJ")
        body = design_summary(d) + ("<p class=muted>Each row is one stored op (a repeated layer's ops once, with "
                                    "its repeat count); latency and energy count every repeat. Click an op for "
                                    "its loop nest and schedule.</p>") + op_table(d)
        out.append(details(head, body, "design", open_=i == 0))
    return "".join(out)


# -- hypervolume and paper -----------------------------------------------------------------------------------------
def hypervolume_section(study: Study, fid: str) -> str:
    ks, hv = study.hypervolume_curve(points=100)
    if not len(ks):
        return "<p>No feasible trial yet.</p>"
    fig = plots.hypervolume_plot(ks, hv, fid, f"{study.spec.name} ({study.spec.optimizer.kind})")
    return (f'<figure>{fig}</figure><p class=muted>Hypervolume of the first k trials over the objectives, '
            f"normalised to this study's feasible range (reference point 1.1); final {hv[-1]:.4f}.</p>")


def _paper_hw(values: list[int]) -> str:
    return notation.short(paper.hardware_knobs(values))


def _paper_design(row: dict[str, Any]) -> str:
    """A row of the paper's Table 3 in CATX's notation (hardware, then both towers)."""
    return notation.short({**paper.hardware_knobs(row["hardware"]), **paper.tower_knobs("text", row["text"]),
                           **paper.tower_knobs("vision", row["vision"])})


def paper_section(study: Study) -> str | None:
    which = paper.table_for(study.spec.name)
    if which is None:
        return None
    src = f"<p class=muted>Paper: {esc(paper.source())}; {esc(paper.TITLES[which])}.</p>"
    if which == "hardware_only":
        row = paper.hardware_only(study.spec.model.spec)
        if row is None:
            return src + f"<p>The paper reports no hardware-only result for {esc(study.spec.model.spec)}.</p>"
        c, lat = study.best("carbon_kg"), study.best("latency_s")
        rows = []
        for name, p, t in (("min carbon", row["min_carbon"], c), ("min latency", row["min_latency"], lat)):
            m = study.metrics_of(t) if t is not None else {}
            rows.append([name, num(p["carbon_kg"]), num(p["latency_s"] * 1e3),
                         R.fmt("carbon_kg", m.get("carbon_kg")), R.fmt("latency_s", m.get("latency_s")),
                         R.fmt("area_mm2", m.get("area_mm2")),
                         f"<code>{esc(R.config_short(study, t))}</code>" if t is not None else "-"])
        heads = ["design", "paper [kgCO2e]", "paper [ms]", "CATX [kgCO2e]", "CATX [ms]", "CATX area [mm²]",
                 "CATX configuration"]
        body = src + table(heads, rows, "trials", [False, True, True, True, True, True, False], raw=True)
        pc, pl = row["min_carbon"], row["min_latency"]
        lines = [f"paper: min-carbon has {100 * (1 - pc['carbon_kg'] / pl['carbon_kg']):.0f}% less carbon at "
                 f"{pc['latency_s'] / pl['latency_s']:.1f}x the latency"]
        if c is not None and lat is not None:
            mc, ml = study.metrics_of(c), study.metrics_of(lat)
            lines.append(f"CATX: {100 * (1 - mc['carbon_kg'] / ml['carbon_kg']):.0f}% less carbon at "
                         f"{mc['latency_s'] / ml['latency_s']:.1f}x the latency on a "
                         f"{ml['area_mm2'] / mc['area_mm2']:.1f}x smaller die")
        if row.get("min_carbon_hardware"):
            lines.append(f"the paper's min-carbon hardware: {_paper_hw(row['min_carbon_hardware'])}")
        body += "<ul>" + "".join(f"<li>{esc(x)}</li>" for x in lines) + "</ul>"
    else:
        rows = [[esc(r["model"]), num(r["carbon_kg"]), num(r["latency_s"] * 1e3),
                 num(100 * r["accuracy"]) if r["accuracy"] is not None else "-",
                 f"<code>{esc(_paper_design(r))}</code>"] for r in paper.carbonclip()]
        for o, t in R.best_rows(study):
            m = study.metrics_of(t)
            rows.append([f"<b>CATX best {esc(R.label(o))}</b> (trial {t.id})", R.fmt("carbon_kg", m.get("carbon_kg")),
                         R.fmt("latency_s", m.get("latency_s")), R.fmt("accuracy", m.get("accuracy")),
                         f"<code>{esc(R.config_short(study, t))}</code>"])
        heads = ["model", "carbon [kgCO2e]", "latency [ms]", "accuracy [%]", "configuration"]
        body = src + table(heads, rows, "trials", [False, True, True, True, False], raw=True)
        body += ("<p class=muted>The paper's accuracy is the mean over 41 CLIP-benchmark tasks after fine-tuning; "
                 "CATX's is on its built-in offline benchmark, so only carbon and latency compare directly.</p>")
    finds = "".join(f"<li>{esc(f['what'])}: " + ", ".join(
        x for x in (f"carbon {100 * f['carbon_change']:+.0f}%" if "carbon_change" in f else "",
                    f"{f['latency_ratio']:g}x latency" if "latency_ratio" in f else "",
                    f"{f['area_ratio']:g}x area" if "area_ratio" in f else "") if x) + "</li>"
                    for f in paper.findings())
    return body + details("the paper's findings", f"<ul>{finds}</ul>")
