"""Mixture-of-experts load models: how many of a layer's routed tokens each expert receives.

Routing is data-dependent, so a lowering needs a declared load. ``uniform`` (the default) gives every expert the
same share, ``tokens * top_k / experts``; ``skewed:S`` gives expert ``e`` a share proportional to
``1 / (e + 1) ** S`` (Zipf; ``S = 0`` is uniform); a list ``0.4,0.3,0.2,0.1`` gives the shares directly (they
are normalised). Counts are whole tokens that sum to the routed rows, and no expert gets more than the layer's
tokens (each token picks an expert at most once).
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ModelSpecError

FORMS = "uniform | skewed:S (Zipf exponent S >= 0) | a comma-separated list of per-expert shares"


@dataclass(frozen=True)
class LoadModel:
    kind: str = "uniform"              # uniform | skewed | shares
    exponent: float = 0.0              # skewed: share of expert e proportional to 1 / (e + 1) ** exponent
    shares: tuple[float, ...] = ()     # shares: one per expert

    @classmethod
    def parse(cls, spec: LoadModel | str | list[float] | tuple[float, ...] | None) -> LoadModel:
        """A load model from its text form (``uniform``, ``skewed:1.2``, ``0.5,0.25,0.25``) or a list of shares."""
        if spec is None or isinstance(spec, LoadModel):
            return spec or cls()
        if isinstance(spec, (list, tuple)):
            return cls._shares([str(s) for s in spec], str(list(spec)))
        text = str(spec).strip()
        if text == "uniform":
            return cls()
        if text.startswith("skewed:"):
            try:
                s = float(text.split(":", 1)[1])
            except ValueError:
                s = -1.0
            if not s >= 0 or s == float("inf"):
                raise ModelSpecError(f"MoE load {text!r}: the Zipf exponent must be finite and >= 0; forms: {FORMS}")
            return cls("skewed", exponent=s)
        return cls._shares(text.split(","), text)

    @classmethod
    def _shares(cls, parts: list[str], text: str) -> LoadModel:
        try:
            shares = tuple(float(p) for p in parts)
        except ValueError:
            raise ModelSpecError(f"MoE load {text!r} is not understood; forms: {FORMS}") from None
        if not shares or any(not (s >= 0) or s == float("inf") for s in shares) or sum(shares) <= 0:
            raise ModelSpecError(f"MoE load {text!r}: shares must be finite, >= 0 and not all 0; forms: {FORMS}")
        return cls("shares", shares=shares)

    def fractions(self, experts: int) -> list[float]:
        """Each expert's share of the routed tokens (sums to 1)."""
        if self.kind == "shares":
            if len(self.shares) != experts:
                raise ModelSpecError(f"MoE load lists {len(self.shares)} shares but the layer has {experts} experts")
            weights = list(self.shares)
        elif self.kind == "skewed":
            weights = [1.0 / (e + 1) ** self.exponent for e in range(experts)]
        else:
            weights = [1.0] * experts
        total = sum(weights)
        return [w / total for w in weights]

    def tokens(self, rows: int, experts: int, cap: int | None = None) -> list[int]:
        """Whole tokens per expert: ``rows`` routed rows shared out by ``fractions`` (largest remainder), none
        above ``cap`` (the excess goes to the others in proportion to their shares)."""
        cap = rows if cap is None else cap
        if cap * experts < rows:
            raise ModelSpecError(f"MoE load: {rows} routed tokens cannot fit {experts} experts of at most {cap} each")
        frac = self.fractions(experts)
        want = [f * rows for f in frac]
        while any(w > cap + 1e-9 for w in want):  # water-filling: clip at the cap, share the excess out
            excess = sum(w - cap for w in want if w > cap)
            free = [e for e, w in enumerate(want) if w < cap]
            weight = sum(frac[e] for e in free) or len(free)
            want = [min(w, cap) for w in want]
            for e in free:
                want[e] += excess * (frac[e] if sum(frac[e] for e in free) else 1) / weight
        counts = [min(int(w), cap) for w in want]
        order = sorted(range(experts), key=lambda e: (-(want[e] - counts[e]), e))
        for e in order:
            if sum(counts) >= rows:
                break
            if counts[e] < cap:
                counts[e] += 1
        return counts

    def __str__(self) -> str:
        if self.kind == "skewed":
            return f"skewed:{self.exponent:g}"
        if self.kind == "shares":
            return ",".join(f"{s:g}" for s in self.shares)
        return "uniform"
