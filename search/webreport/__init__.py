"""``catx report``: one self-contained HTML page per run folder or estimate (styles, scripts and SVG plots
inline; the page fetches nothing).

A study page holds the definition, the Pareto front(s) with hover details, the best design per objective, the
carbon breakdown of the chosen designs with Monte Carlo bands, a per-op table whose rows expand into each op's
loop nest and schedule, the hypervolume curve and, for a paper preset, the paper's numbers beside CATX's.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from .. import notation
from .. import report as R
from ..errors import ReportError
from . import sections as S
from .designs import Design, chosen, estimate_design, study_designs
from .html import esc
from .load import Loaded, load

ASSETS = Path(__file__).parent
FILE = "report.html"


@dataclass
class Written:
    """What ``catx report`` wrote: the file, its size, how long it took, and whether any study is partial."""

    path: Path
    bytes: int
    seconds: float
    partial: bool
    studies: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "bytes": self.bytes, "seconds": self.seconds, "partial": self.partial,
                "studies": self.studies}


def _asset(name: str) -> str:
    return (ASSETS / name).read_text()


def _page(title: str, header: str, body: str, data: dict[str, Any]) -> str:
    blob = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{esc(title)}</title><style>{_asset('report.css')}</style></head><body>"
            f"<header>{header}</header><main>{body}</main><div id=\"tip\" role=\"tooltip\" hidden></div>"
            f"<script type=\"application/json\" id=\"catx-trials\">{blob}</script>"
            f"<script>{_asset('report.js')}</script></body></html>\n")


def _hover(study, sid: str) -> dict[str, str]:
    """Hover text of every feasible trial: its metrics with units and its configuration."""
    cols = R.metric_columns(study)
    out = {}
    for t in study.feasible():
        m = study.metrics_of(t)
        vals = " · ".join(f"{R.label(c)} {R.fmt(c, m.get(c))} {R.unit(c)}" for c in cols if c in m)
        out[str(t.id)] = f"trial {t.id} ({t.origin})\n{vals}\n{R.config_short(study, t)}"
    return out


def _study_section(ld: Loaded, sid: str) -> tuple[str, str, dict[str, str]]:
    st = ld.study
    try:
        designs = study_designs(st)
        failed = ""
    except Exception as e:       # the page still shows everything stored; only the per-op detail is missing
        designs, failed = [], f"<p class=warn>The chosen designs could not be evaluated again: {esc(e)}</p>"
    picks = [(d.label, d.trial) for d in designs] or chosen(st)
    parts = [("definition", "Study definition", S.definition(st)),
             ("front", "Pareto front", S.front_section(st, sid, picks, f"{sid}f")),
             ("best", "Best design per objective", S.best_section(st)),
             ("carbon", "Carbon breakdown of the chosen designs", failed + S.carbon_section(designs, f"{sid}c")),
             ("ops", "Per-op costs of the chosen designs", failed + S.ops_section(designs)),
             ("hv", "Hypervolume", S.hypervolume_section(st, f"{sid}h"))]
    cmp = S.paper_section(st)
    if cmp is not None:
        parts.append(("paper", "Comparison with the paper", cmp))
    status = f'<p class="{"partial" if ld.partial else "muted"}">{esc(ld.status)}</p>'
    html = (f'<section id="{sid}"><h2>{esc(st.spec.name)}{" (partial)" if ld.partial else ""}</h2>{status}'
            + "".join(f'<h3 id="{sid}-{k}">{esc(t)}</h3>{b}' for k, t, b in parts) + "</section>")
    nav = (f'<li><a href="#{sid}">{esc(st.spec.name)}</a>: '
           + " · ".join(f'<a href="#{sid}-{k}">{esc(t.split(" of ")[0])}</a>' for k, t, _ in parts) + "</li>")
    return html, nav, _hover(st, sid)


def _stamp() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def study_page(loaded: Sequence[Loaded], run_dir: Path) -> str:
    sections, navs, data = [], [], {}
    for i, ld in enumerate(loaded):
        html, nav, hover = _study_section(ld, f"s{i}")
        sections.append(html)
        navs.append(nav)
        data[f"s{i}"] = hover
    names = ", ".join(ld.study.spec.name for ld in loaded)
    partial = any(ld.partial for ld in loaded)
    configs = [R.design_values(ld.study, t.config) for ld in loaded for t in ld.study.front()[:200]]
    banner = ('<p class="partial">PARTIAL REPORT: at least one study has fewer trials than planned; this page shows '
              "the trials stored so far.</p>" if partial else "")
    header = (f"<h1>CATX report: {esc(names)}</h1><p class=muted>{esc(run_dir)} · written {_stamp()} · "
              f"{sum(len(ld.study.trials) for ld in loaded):,} trials in {len(loaded)} "
              f"stud{'y' if len(loaded) == 1 else 'ies'} · self-contained, reads offline</p>{banner}"
              f"<nav><ul>{''.join(navs)}</ul></nav>")
    legend = f"<footer><p class=muted>Configuration notation: {esc(notation.legend(configs))}.</p></footer>"
    return _page(f"CATX report: {names}{' (partial)' if partial else ''}", header, "".join(sections) + legend,
                 data)


def estimate_page(d: Design, scenario: str, spec: str) -> str:
    hw = d.estimate.hardware
    header = (f"<h1>CATX report: {esc(d.graph.name)} on {esc(hw.name)}</h1><p class=muted>model {esc(spec)} · "
              f"hardware {esc(hw.name)} · scenario {esc(scenario)} · schedule target {esc(d.estimate.target)} · "
              f"written {_stamp()} · self-contained, reads offline</p>"
              '<nav><ul><li><a href="#e-design">Design</a> · <a href="#e-carbon">Carbon breakdown</a> · '
              '<a href="#e-ops">Per-op costs</a></li></ul></nav>')
    from .html import details, kv
    body = ('<section id="e"><h2 id="e-design">Design</h2>' + S.design_summary(d)
            + details("the hardware description", kv(hw.model_dump(mode="json")), "raw")
            + '<h2 id="e-carbon">Carbon breakdown</h2>' + S.carbon_section([d], "ec")
            + '<h2 id="e-ops">Per-op costs</h2>'
            + ("<p class=muted>Each row is one stored op (a repeated layer's ops once, with its repeat count); "
               "latency and energy count every repeat. Click an op for its loop nest and schedule.</p>")
            + S.op_table(d) + "</section>")
    return _page(f"CATX report: {d.graph.name} on {hw.name}", header, body, {})


def _write(path: Path, text: str, t0: float, partial: bool, studies: list[str]) -> Written:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as e:
        raise ReportError(f"{path}: cannot write the report ({e.strerror or e})") from None
    return Written(path, path.stat().st_size, time.perf_counter() - t0, partial, studies)


def write_study_report(run_dir: str | Path, out: str | Path | None = None) -> Written:
    """The report of every study in ``run_dir`` (default output ``RUN_DIR/report.html``)."""
    t0 = time.perf_counter()
    loaded = load(run_dir)
    text = study_page(loaded, Path(run_dir))
    return _write(Path(out) if out else Path(run_dir) / FILE, text, t0, any(ld.partial for ld in loaded),
                  [ld.study.spec.name for ld in loaded])


def write_estimate_report(graph, hardware, scenario: str, out: str | Path, spec: str,
                          target: str = "edp") -> Written:
    """The report of one model on one hardware under a carbon scenario."""
    t0 = time.perf_counter()
    d = estimate_design(graph, hardware, scenario, target)
    return _write(Path(out), estimate_page(d, scenario, spec), t0, False, [])


__all__ = ["Written", "estimate_page", "study_page", "write_estimate_report", "write_study_report"]
