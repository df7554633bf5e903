"""Already-legalised calls: ``call_tir`` of a TensorIR function, described from its loop nest."""

from __future__ import annotations

from ..registry import register
from ..tir_generic import call_tir

register("relax.call_tir", call_tir)
