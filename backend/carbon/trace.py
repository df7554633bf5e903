"""Hourly grid-intensity traces (CSV): strict reading, and the intensity seen by a device active some hours a day."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from ir.files import read_text

from .errors import TraceError

VALUE_COLUMNS = ("g_per_kwh", "gco2_per_kwh", "carbon_intensity_g_per_kwh")
TIME_COLUMNS = ("timestamp", "hour")
MAX_PLAUSIBLE_G_PER_KWH = 2000.0  # coal plants emit ~1,000 g/kWh; far above that is another unit (g/MWh, lb/MWh)


@dataclass(frozen=True)
class Trace:
    """Hourly intensities (g/kWh) and the hour of day (0..23) of each sample."""

    path: str
    g_per_kwh: np.ndarray
    hour_of_day: np.ndarray

    def weighted_g_per_kwh(self, start_hour: float, active_hours: float) -> float:
        """Mean intensity over the hours of each day the device is active, [start, start + active) modulo 24."""
        if active_hours >= 24:
            return float(self.g_per_kwh.mean())
        offset = (self.hour_of_day - start_hour) % 24
        mask = offset < active_hours
        if not mask.any():
            raise TraceError(f"{self.path}: no samples fall in the active window starting at hour {start_hour} "
                             f"lasting {active_hours} h")
        return float(self.g_per_kwh[mask].mean())


def _parse_time(text: str, where: str) -> datetime:
    try:
        return datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as e:
        raise TraceError(f"{where}: timestamp {text!r} is not ISO 8601 (e.g. 2024-01-01T00:00:00Z)") from e


def load_trace(path: str | Path) -> Trace:
    """Read ``timestamp,g_per_kwh`` (or ``hour,g_per_kwh``) rows; hourly, no gaps, g/kWh, at least one day."""
    path = Path(path)
    try:
        rows = list(csv.reader(read_text(path, "grid trace", TraceError).splitlines()))
    except csv.Error as e:                     # a NUL byte, a field over csv's size limit
        raise TraceError(f"{path}: not a readable CSV file ({e})") from None
    rows = [r for r in rows if r and any(c.strip() for c in r)]
    if not rows:
        raise TraceError(f"{path}: empty trace")
    header = [c.strip().lower() for c in rows[0]]
    if len(header) != 2 or header[0] not in TIME_COLUMNS:
        raise TraceError(f"{path}: header must be two columns, a time column ({' or '.join(TIME_COLUMNS)}) and an "
                         f"intensity column in g/kWh ({', '.join(VALUE_COLUMNS)}); got {rows[0]}")
    if header[1] not in VALUE_COLUMNS:
        raise TraceError(f"{path}: intensity column {rows[0][1]!r} is not in g/kWh; name it one of "
                         f"{', '.join(VALUE_COLUMNS)} (convert kg/kWh x1000, lb/MWh x0.4536)")
    values: list[float] = []
    hours: list[int] = []
    prev: datetime | None = None
    for i, row in enumerate(rows[1:], start=2):
        where = f"{path}:{i}"
        if len(row) != 2 or not row[1].strip():
            raise TraceError(f"{where}: missing intensity value (a gap); every hour needs a value")
        try:
            v = float(row[1])
        except ValueError as e:
            raise TraceError(f"{where}: intensity {row[1]!r} is not a number") from e
        if not math.isfinite(v) or v < 0:
            raise TraceError(f"{where}: intensity {row[1]!r} must be a finite number >= 0 g/kWh")
        if v > MAX_PLAUSIBLE_G_PER_KWH:
            raise TraceError(f"{where}: intensity {v:g} is implausible for g/kWh (max {MAX_PLAUSIBLE_G_PER_KWH:g}); "
                             "is the file in g/MWh or lb/MWh?")
        if header[0] == "hour":
            try:
                h = int(row[0])
            except ValueError as e:
                raise TraceError(f"{where}: hour {row[0]!r} is not an integer") from e
            expected = len(values)
            if h != expected:
                raise TraceError(f"{where}: hour {h} follows hour {expected - 1}; hours must be 0, 1, 2, ... "
                                 "with no gaps")
            hours.append(h % 24)
        else:
            t = _parse_time(row[0], where)
            if prev is not None and t - prev != timedelta(hours=1):
                raise TraceError(f"{where}: timestamp {row[0].strip()} is {t - prev} after the previous one; "
                                 "the trace must be hourly with no gaps")
            prev = t
            hours.append(t.hour)
        values.append(v)
    if len(values) < 24:
        raise TraceError(f"{path}: {len(values)} hourly samples; a trace needs at least 24 (one day)")
    return Trace(str(path), np.asarray(values, dtype=float), np.asarray(hours, dtype=int))
