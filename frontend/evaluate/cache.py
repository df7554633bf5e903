"""On-disk cache of evaluation results keyed by (base model, configuration, evaluator, budget)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


class ResultCache:
    """One JSON file per result under ``root/results/<base>/<evaluator>-b<budget>/<config>.json``; writes are
    atomic so parallel trials never read half a file."""

    def __init__(self, root: Path):
        self.root = Path(root) / "results"

    def path(self, base: str, config_key: str, evaluator: str, budget: int) -> Path:
        return self.root / base / f"{evaluator}-b{budget}" / f"{config_key}.json"

    def get(self, base: str, config_key: str, evaluator: str, budget: int) -> dict[str, Any] | None:
        p = self.path(base, config_key, evaluator, budget)
        try:
            return json.loads(p.read_text())
        except (OSError, ValueError):
            return None

    def put(self, base: str, config_key: str, evaluator: str, budget: int, result: dict[str, Any]) -> None:
        p = self.path(base, config_key, evaluator, budget)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(result, sort_keys=True))
        tmp.replace(p)
