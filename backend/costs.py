"""Per-hardware constants the cost functions need (energies per bit, bandwidths in bits/cycle), cached by signature."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from .hardware import Hardware, area_parts, leakage_w


@dataclass(frozen=True)
class HwConsts:
    cores: int
    rows: int
    cols: int
    dataflows: tuple[str, ...]
    clock_hz: float
    bits_a: int                  # activations (operand A, outputs)
    bits_b: int                  # weights (operand B)
    bits_acc: int
    local_bits: float            # capacity of one core's local buffer
    glb_bits: float
    bw_local: float              # bits/cycle, per core
    bw_glb: float
    bw_dram: float               # DRAM->GLB, limited by the slower side
    e_mac: float                 # J per MAC
    e_reg_per_mac: float         # J of pipeline-register traffic per MAC
    e_local: float               # J per bit
    e_glb: float
    e_dram: float
    e_lane: float                # J per vector lane-cycle
    leak_w: float
    lanes: int
    resident_bits: float         # activations up to this size stay in the global buffer


@functools.lru_cache(maxsize=8192)
def _consts(sig: str) -> HwConsts:
    return consts_of(Hardware.model_validate_json(sig))


def consts_of(hw: Hardware, area: dict[str, float] | None = None) -> HwConsts:
    """Compute the constants directly (no cache); ``area`` may be passed when already known."""
    t = hw.tech
    w = hw.word_bits
    lb, gb = hw.local_buffer, hw.global_buffer
    mac_bits = max(hw.bits.weight, hw.bits.activation)
    return HwConsts(
        cores=hw.cores, rows=hw.tensor_unit.pe_rows, cols=hw.tensor_unit.pe_cols,
        dataflows=tuple(hw.tensor_unit.dataflows), clock_hz=hw.clock_hz,
        bits_a=hw.bits.activation, bits_b=hw.bits.weight, bits_acc=hw.bits.accumulator,
        local_bits=hw.local_buffer_bytes * 8, glb_bits=hw.global_buffer_bytes * 8,
        bw_local=lb.bw_words_per_cycle * w, bw_glb=gb.bw_words_per_cycle * w,
        bw_dram=min(hw.dram.bw_words_per_cycle, gb.bw_words_per_cycle) * w,
        e_mac=t.mac_energy_j(mac_bits),
        e_reg_per_mac=hw.tensor_unit.register_accesses_per_mac * mac_bits * t.register_energy_j_per_bit(),
        e_local=t.sram_energy_j_per_bit(hw.local_buffer_bytes, lb.bw_words_per_cycle * w / lb.banks),
        e_glb=t.sram_energy_j_per_bit(hw.global_buffer_bytes, gb.bw_words_per_cycle * w / gb.banks),
        e_dram=t.dram_energy_j_per_bit(hw.dram.kind), e_lane=t.vector_lane_energy_j(),
        leak_w=leakage_w(hw, area if area is not None else area_parts(hw)), lanes=hw.vector_unit.lanes,
        resident_bits=gb.resident_fraction * hw.global_buffer_bytes * 8,
    )


def consts(hw: Hardware, sig: str | None = None) -> HwConsts:
    return _consts(sig or hw.signature())
