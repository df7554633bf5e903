"""``catx proxy train|eval|table``: the built-in offline CLIP benchmark (train, score a pruned configuration)."""

from __future__ import annotations

import argparse
import json
import time

from ir.errors import CatxError
from ir.files import parse_json

from .common import parser

# Standard pruned configurations of the proxy CLIP (knob -> value on both towers; the rest stay full).
TABLE = {
    "full": {},
    "layers 3": {"layers": 3},
    "heads 3, ffn 192": {"heads": 3, "ffn": 192},
    "width 48": {"width": 48},
    "all 75%": {"layers": 3, "heads": 3, "ffn": 192, "width": 48},
    "ffn 128": {"ffn": 128},
    "heads 2": {"heads": 2},
    "smallest (50%)": {"layers": 2, "heads": 2, "ffn": 128, "width": 32},
}


EXAMPLES = {
    "proxy": """
  catx proxy train                     # train (or load from the cache) the benchmark's CLIP; scores and chance
  catx proxy eval --config '{"text": {"layers": 3}, "vision": {"layers": 3}}' --budget 100
  catx proxy table --budget 100 --json # accuracy of the standard pruned configurations as JSON
""",
    "train": """
  catx proxy train                     # scores of the cached (or freshly trained) proxy CLIP
  catx proxy train --force --steps 600 # retrain with another budget
""",
    "eval": """
  catx proxy eval                                                   # the full model
  catx proxy eval --config '{"text": {"layers": 3, "heads": 3, "ffn": 192, "width": 48}}' --budget 100
""",
    "table": """
  catx proxy table --budget 100        # markdown table: zero-shot, R@1, R@5 without and with recovery
  catx proxy table --json              # the same numbers as JSON
""",
}


def register(subparsers) -> None:
    p = parser(subparsers, "proxy", EXAMPLES["proxy"], help="the built-in offline CLIP benchmark: train | eval | table",
               description="The built-in offline CLIP benchmark: train its small CLIP, score pruned configurations.")
    sub = p.add_subparsers(dest="action", required=True)
    for name, fn, hlp in (("train", _train, "train the proxy CLIP (cached)"),
                          ("eval", _eval, "score one pruned configuration"),
                          ("table", _table, "score the standard pruned configurations, with and without recovery")):
        s = parser(sub, name, EXAMPLES[name], help=hlp, description=hlp)
        s.add_argument("--json", action="store_true", help="print only the results, as JSON" +
                       (" (the default output is already JSON)" if name != "table" else ""))
        s.add_argument("--cache-dir", default=None, help="cache folder (default $CATX_CACHE or ~/.cache/catx)")
        s.add_argument("--steps", type=int, default=None, help="proxy training steps (default 300)")
        s.set_defaults(run=fn)
        if name == "train":
            s.add_argument("--force", action="store_true", help="retrain even when cached")
        if name == "eval":
            s.add_argument("--config", default=None,
                           help="JSON: {\"text\": {layers, heads, ffn, width}, \"vision\": {...}} or flat knobs; "
                                "default the full model")
            s.add_argument("--budget", type=int, default=0, help="recovery steps at full FLOPs (0: none)")
            s.add_argument("--method", default="taylor", choices=["taylor", "ablation"], help="head ranking")
        if name == "table":
            s.add_argument("--budget", type=int, default=100, help="recovery budget of the 'recovered' column")


def _train(args: argparse.Namespace) -> int:
    from frontend.proxy import bench
    m = bench.train(args.steps or bench.DEFAULT_STEPS, args.cache_dir, force=args.force, log=not args.json)
    print(json.dumps({"test": bench.score(m), "chance": bench.chance()}, indent=1))
    return 0


def _config(text: str | None):
    from frontend.clip import Arch, CLIPConfig
    from frontend.proxy import model
    if text is None:
        return Arch.of(model.build()).config()
    return CLIPConfig.parse(parse_json(text, "--config", "configuration", CatxError, expect=dict))


def _eval(args: argparse.Namespace) -> int:
    from frontend.evaluate import evaluate
    t0 = time.perf_counter()
    out = evaluate(_config(args.config), "proxy", args.budget, args.cache_dir, args.steps, args.method)
    print(json.dumps({**out, "eval_s": round(time.perf_counter() - t0, 2)}, indent=1))
    return 0


def _table(args: argparse.Namespace) -> int:
    from frontend.clip import Arch, CLIPConfig, params
    from frontend.evaluate import evaluate
    from frontend.proxy import bench, model

    arch = Arch.of(model.build())
    full = arch.config()
    ch = bench.chance()
    rows = []
    if not args.json:
        print(f"chance: zero-shot {ch['zero_shot_acc']:.3f}, R@1 {ch['r1']:.4f}, R@5 {ch['r5']:.4f}")
        print("| configuration | params [count] | MACs [count] | zero-shot [fraction] | R@1 [fraction] | "
              "R@5 [fraction] | zero-shot, recovered [fraction] | R@1, recovered [fraction] |")
        print("|---|---|---|---|---|---|---|---|")
    for name, knobs in TABLE.items():
        cfg = CLIPConfig(text=full.text.model_copy(update=knobs), vision=full.vision.model_copy(update=knobs))
        a = evaluate(cfg, "proxy", 0, args.cache_dir, args.steps)
        b = evaluate(cfg, "proxy", args.budget, args.cache_dir, args.steps) if knobs else a
        rows.append({"configuration": name, "knobs": knobs, "params": params(arch, cfg), "macs": a["macs"],
                     "zero_shot_acc": a["zero_shot_acc"], "r1": a["r1"], "r5": a["r5"],
                     "recovered": {"budget": args.budget, "zero_shot_acc": b["zero_shot_acc"], "r1": b["r1"]}})
        if not args.json:
            print(f"| {name} | {params(arch, cfg):,} | {a['macs']:,.0f} | {a['zero_shot_acc']:.3f} | {a['r1']:.3f} | "
                  f"{a['r5']:.3f} | {b['zero_shot_acc']:.3f} | {b['r1']:.3f} |", flush=True)
    if args.json:
        print(json.dumps({"chance": ch, "rows": rows}, indent=1, default=float))
    return 0
