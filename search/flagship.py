"""The flagship study behind the README's main command (``catx search flagship``), on built-in defaults only.

Part 1: CLIP ViT-B/16 (both towers) on the CATransformers edge template under the paper's California scenario,
optimised for carbon, latency and energy together; the carbon-, latency- and energy-optimal designs side by side.
Part 1 enumerates the edge space (3,240 designs) for the exact front unless an optimiser is asked for.
Part 2: the joint search over the paper's whole space (8 model knobs, 6 hardware knobs), nested: SMAC over the
model configurations, each one's exact hardware front; accuracy from the built-in CLIP benchmark.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from ir.errors import CatxError

from . import paper, report
from .engine import run
from .errors import SearchError
from .nested import describe
from .results import Study
from .study import load

HW_TRIALS = 1000      # when part 1 runs an optimiser (--optimizer smac|random) instead of enumerating
JOINT_PRESET = "carbon-latency"     # the paper's carbon+latency mode: accuracy, carbon_kg, latency_s
JOINT_TRIALS = 40     # model configurations of part 2
# Part 2's high fidelity: the 2 most accurate front models re-scored after a short recovery (25 steps x the FLOP
# reduction, at most 100), so the main job stays within minutes on 2 cores
JOINT_FIDELITY = {"promote": 2, "high_budget": 25}


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


def part(name: str, fn: Callable[[], Study]) -> Study:
    """Run one part; any failure, typed or not, becomes one SearchError line naming the part."""
    try:
        st = fn()
    except CatxError as e:
        raise SearchError(f"flagship {name}: {e}") from None
    except Exception as e:  # an untyped failure of the main job is still one line, never a trace
        raise SearchError(f"flagship {name}: {type(e).__name__}: {e}") from e
    require(st, name)
    return st


def require(st: Study, part: str) -> None:
    """A part whose every trial failed, or that found no feasible design, is a failure of the main job."""
    c = st.counts()
    if c.get("ok", 0) == 0:
        first = next((t.error for t in st.trials if t.error), "")
        why = f"every one of its {c['trials']} trials failed" if c.get("error", 0) == c["trials"] else \
            "no design met the constraints"
        raise SearchError(f"flagship {part}: {why}" + (f"; first error: {first}" if first else ""))


def run_flagship(out: str | Path = "runs/flagship", trials: int | None = None, workers: int | None = None,
                 seed: int | None = None, resume: bool = False, console: Any = None, kind: str | None = None,
                 scheduler: str | None = None, joint: bool = True, mode: str | None = None,
                 exhaustive: bool | None = None) -> int:
    """Both parts; a part that fails raises a CatxError (the CLI prints one line and exits non-zero).
    ``trials`` sets the optimised parts' trial counts (the joint part's model configurations; the hardware part's
    trials when ``kind`` makes it search instead of enumerating)."""
    from rich.console import Console

    console = console or Console()
    out = Path(out)
    hw_kind = kind if kind in ("smac", "random") else None
    spec = load("hardware-only").with_options(trials=HW_TRIALS if trials is None else trials, kind=hw_kind)
    spec = spec.model_copy(update={"name": "flagship-hardware"})
    console.print(f"[bold]1/2[/] {spec.description}: objectives {', '.join(spec.objectives)}, scenario "
                  f"{spec.scenario}")
    st = part("hardware part", lambda: run(spec, out=out / "hardware", resume=resume, workers=workers, seed=seed,
                                           scheduler=scheduler, progress=True))
    console.print(describe(st))
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
    js = load(JOINT_PRESET).with_options(trials=trials or JOINT_TRIALS, workers=workers, seed=seed,
                                         kind=kind if kind in ("smac", "random") else None, mode=mode,
                                         exhaustive=exhaustive)
    js = js.model_copy(update={"name": "flagship-joint",
                               "fidelity": js.fidelity.model_copy(update=JOINT_FIDELITY)})
    console.print(f"[bold]2/2[/] {js.description}: {js.optimizer.trials} model configurations over all "
                  f"{len(js.knobs())} knobs of the paper's space")
    started = (out / "joint" / "study.sqlite").is_file()     # killed after part 1: resuming part 2 starts it
    jst = part("joint part", lambda: run(js, out=out / "joint", resume=resume and started, scheduler=scheduler,
                                         progress=True))
    console.print(describe(jst))
    console.print(report.counts_line(jst))
    console.print(report.best_table(jst))
    console.print(report.front_table(jst, limit=12))
    js_summary = report.write(jst)
    console.print(f"accuracy: {js_summary['accuracy_source']}")
    console.print(f"hypervolume {js_summary['hypervolume']:.4f}; results in {jst.dir}")
    return 0
