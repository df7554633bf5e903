"""``catx presets``: the hardware presets, one line each (``--show NAME`` prints one's description in full)."""

from __future__ import annotations

import argparse
import json

EPILOG = """examples:
  catx presets                          # one line per preset: levels, peak TOPS, area
  catx presets --show tpu-like          # the full description of one preset, as YAML
  catx presets --json                   # the same lines as JSON"""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("presets", help="list the hardware presets", epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter,
                              description="The built-in hardware presets (backend/data/presets), one line each.")
    p.add_argument("--show", metavar="NAME", help="print one preset's whole description (YAML)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import yaml

    import backend
    if args.show:
        hw = backend.presets.get(args.show)
        print(yaml.safe_dump(hw.model_dump(mode="json", exclude_defaults=True), sort_keys=False).rstrip())
        return 0
    rows = []
    for name, line in backend.presets.describe():
        hw = backend.presets.get(name)
        rows.append({"name": name, "description": line, "levels": [lv.name for lv in hw.memory],
                     "peak_tops": hw.peak_tops, "area_mm2": hw.area_mm2, "clock_hz": hw.clock_hz})
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        print(f"{r['name']:<{width}}  {r['peak_tops']:7.2f} TOPS  {r['area_mm2']:7.2f} mm2  "
              f"{' > '.join(r['levels'])} > dram   {r['description']}")
    return 0
