"""The flagship study behind the README's main command (``catx search flagship``), on built-in defaults only.

Part 1: CLIP ViT-B/16 (both towers) on the CATransformers edge template under the paper's California scenario,
optimised for carbon, latency and energy together; the carbon-, latency- and energy-optimal designs side by side.
Part 2: a small joint model/hardware search on the built-in CLIP benchmark, when the model evaluator is present.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import paper, report
from .engine import run
from .errors import StudyError
from .results import Study
from .study import load

HW_TRIALS = 1000      # ~65 s of SMAC on 2 cores plus ~20 s lowering ViT-B/16 once


def direction(st: Study) -> dict[str, Any]:
    """Carbon-optimal vs latency-optimal design: the paper's finding is that the first is smaller and greener."""
    c, lat = st.best("carbon_kg"), st.best("latency_s")
    if c is None or lat is None:
        return {}
    mc, ml = st.metrics_of(c), st.metrics_of(lat)
    return {"carbon_optimal": {"id": c.id, "config": c.config, **{k: mc[k] for k in report.SHOWN if k in mc}},
            "latency_optimal": {"id": lat.id, "config": lat.config, **{k: ml[k] for k in report.SHOWN if k in ml}},
            "carbon_saving": 1 - mc["carbon_kg"] / ml["carbon_kg"], "area_ratio": ml["area_mm2"] / mc["area_mm2"],
            "latency_ratio": mc["latency_s"] / ml["latency_s"]}


def joint_available() -> bool:
    """The joint search needs the model side: pruned-CLIP lowering and the benchmark evaluator."""
    try:
        from .evaluate import model_support
    except ImportError:
        return False
    return model_support() is None


def run_flagship(out: str | Path = "runs/flagship", trials: int | None = None, workers: int | None = None,
                 seed: int | None = None, resume: bool = False, console: Any = None, kind: str | None = None,
                 scheduler: str | None = None, joint: bool = True) -> int:
    from rich.console import Console

    console = console or Console()
    out = Path(out)
    spec = load("hardware-only").with_options(trials=HW_TRIALS if trials is None else trials, kind=kind)
    spec = spec.model_copy(update={"name": "flagship-hardware"})
    console.print(f"[bold]1/2[/] {spec.description}: {spec.optimizer.trials} trials, objectives "
                  f"{', '.join(spec.objectives)}, scenario {spec.scenario}")
    st = run(spec, out=out / "hardware", resume=resume, workers=workers, seed=seed, scheduler=scheduler,
             progress=True)
    console.print(report.counts_line(st))
    rows = [(f"min {o}", st.best(o), st) for o in spec.objectives if st.best(o) is not None]
    console.print(report.compare_table(rows, "carbon-, latency- and energy-optimal designs (CLIP ViT-B/16, edge)"))
    console.print(report.front_table(st, limit=12))
    s = report.write(st)
    d = direction(st)
    if d:
        console.print(f"carbon-optimal vs latency-optimal: {100 * d['carbon_saving']:.0f}% less carbon, "
                      f"{d['area_ratio']:.1f}x smaller die, {d['latency_ratio']:.1f}x the latency "
                      f"({paper.direction_line(spec.model.spec)})")
    console.print(f"hypervolume {s['hypervolume']:.4f}; results in {st.dir}")
    if not joint:
        return 0
    if joint_available():
        joint = load("joint-small").with_options(workers=workers, seed=seed, kind=kind)
        console.print(f"[bold]2/2[/] {joint.description}")
        try:
            # part 2 may never have started (killed after part 1): resuming it then means starting it
            started = (out / "joint" / "study.sqlite").is_file()
            js = run(joint, out=out / "joint", resume=resume and started, scheduler=scheduler, progress=True)
        except StudyError as e:
            console.print(f"joint search not run: {e}")
            return 0
        console.print(report.counts_line(js))
        console.print(report.best_table(js))
        console.print(report.front_table(js, limit=12))
        report.write(js)
    else:
        console.print("[bold]2/2[/] joint model/hardware search skipped: this build has no pruned-CLIP evaluator "
                      "(frontend model side); the hardware-only study above is complete")
    return 0
