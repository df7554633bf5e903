"""Per-hardware constants the cost equation needs (bits, bandwidths in bits/cycle, energies in J/bit), cached by
signature. ``Structure`` is what fixes the mapper's candidate tables (sizes, operands, sharing); ``HwConsts`` adds
the numbers that only scale costs (bandwidths, energies, array shape), so a sweep can vectorise over them."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from .conventions import conventions_of
from .hardware import OPERANDS, Hardware, area_parts, leakage_w, parent_of

DRAM = -1          # the parent index that stands for DRAM in LevelConsts.parent


@dataclass(frozen=True)
class LevelConsts:
    name: str
    sharing: str                      # per_pe | per_core | per_chip
    instances: int                    # how many on the chip
    cap_bits: float                   # capacity of one instance (per operand when split)
    split: bool                       # every held operand has its own buffer of cap_bits
    holds: tuple[bool, bool, bool]    # inputs, weights, outputs
    parent: tuple                     # per operand: index of the level it is filled from (DRAM = -1), None: not held
    db: bool                          # tiles may be double-buffered
    shared_port: bool                 # one port for reads and writes
    read_bw: float                    # bits/cycle per instance
    write_bw: float                   # bits/cycle per instance (= read_bw for a shared port)
    e_bit: float                      # J per bit read or written


@dataclass(frozen=True)
class HwConsts:
    cores: int
    rows: int
    cols: int
    dataflows: tuple[str, ...]
    clock_hz: float
    bits_a: int                  # activations (operand A, outputs)
    bits_b: int                  # weights (operand B)
    bits_out: int
    bits_acc: int                # partial sums
    levels: tuple[LevelConsts, ...]     # on-chip, from the PEs outward
    home: int                    # the level activations live in between ops (-1: DRAM)
    resident_bits: float         # activations up to this size stay in the home level
    dram_bw: float               # bits/cycle
    e_dram: float                # J per bit
    e_mac: float                 # J per MAC
    e_reg_per_mac: float         # J of pipeline-register traffic per MAC
    e_lane: float                # J per vector lane-cycle
    leak_w: float
    lanes: int
    pipeline: bool = True        # the array fills, drains and loads (SCALE-Sim); False: an ideal spatial array
    core_split: str = "dims"     # "dims": batch, M or N split evenly over cores; "tiles": output tiles in waves
    tile_sizes: tuple[int, ...] = ()
    launch_cycles: float = 0.0   # fixed cycles every op with work costs (kernel launch)

    @property
    def pe_level(self) -> int:
        """Index of the per-PE level (-1: none)."""
        return next((i for i, lv in enumerate(self.levels) if lv.sharing == "per_pe"), -1)

    def innermost(self, sharing: str) -> int:
        return next((i for i, lv in enumerate(self.levels) if lv.sharing == sharing), -1)

    def holder(self, operand: int, skip_pe: bool = True) -> int:
        """The innermost level holding an operand (-1: DRAM), the per-PE level skipped unless asked for."""
        for i, lv in enumerate(self.levels):
            if lv.holds[operand] and not (skip_pe and lv.sharing == "per_pe"):
                return i
        return DRAM

    def structure(self) -> tuple:
        """What configurations must share to be searched together (the sweep's grouping key): the hierarchy's shape
        and the homes of activations. Capacities, bandwidths, energies and the array shape may differ."""
        lv = tuple((x.sharing, x.instances if x.sharing != "per_pe" else 0, x.split, x.holds, x.parent, x.db,
                    x.shared_port, x.read_bw / x.write_bw) for x in self.levels)
        return (self.cores, self.dataflows, self.bits_a, self.bits_b, self.bits_out, self.bits_acc, lv, self.home,
                self.resident_bits, self.pipeline, self.core_split, self.tile_sizes)


@functools.lru_cache(maxsize=8192)
def _consts(sig: str) -> HwConsts:
    return consts_of(Hardware.model_validate_json(sig))


def consts_of(hw: Hardware, area: dict[str, float] | None = None) -> HwConsts:
    """Compute the constants directly (no cache); ``area`` may be passed when already known."""
    conv = conventions_of(hw)
    leak = leakage_w(hw, area if area is not None else area_parts(hw))
    orig, hw = hw, conv.effective(hw)
    t = hw.tech
    w = hw.word_bits
    levels = []
    for i, (lv0, lv) in enumerate(zip(orig.memory, hw.memory)):
        parents = tuple((parent_of(hw.memory, i, op) if op in lv.holds else None) for op in OPERANDS)
        parents = tuple(DRAM if p == len(hw.memory) else p for p in parents)
        rbw, wbw = lv.read_bw * w, lv.write_bw * w
        width_bits = rbw / lv.banks
        if lv.tech_kind == "register":
            e_bit = t.register_energy_j_per_bit()
        else:
            e_bit = t.sram_energy_j_per_bit(hw.capacity_bytes(lv), width_bits)
        levels.append(LevelConsts(
            name=lv.name, sharing=lv.sharing, instances=hw.instances(lv), cap_bits=hw.capacity_bytes(lv) * 8,
            split=lv.partition == "split", holds=tuple(op in lv.holds for op in OPERANDS), parent=parents,
            db=lv.double_buffering, shared_port=lv.shared_port, read_bw=rbw, write_bw=rbw if lv.shared_port else wbw,
            e_bit=conv.level_energy_j_per_bit(lv, orig.capacity_bytes(lv0), e_bit)))
    home = next((i for i, lv in enumerate(hw.memory) if lv.resident_fraction > 0), DRAM)
    resident = hw.memory[home].resident_fraction * hw.capacity_bytes(hw.memory[home]) * 8 if home != DRAM else 0.0
    mac_bits = max(hw.bits.weight, hw.bits.activation)
    return HwConsts(
        cores=hw.cores, rows=hw.tensor_unit.pe_rows, cols=hw.tensor_unit.pe_cols,
        dataflows=tuple(hw.tensor_unit.dataflows), clock_hz=hw.clock_hz,
        bits_a=hw.bits.activation, bits_b=hw.bits.weight, bits_out=hw.bits.activation,
        bits_acc=conv.accumulator_bits(hw), levels=tuple(levels), home=home, resident_bits=resident,
        dram_bw=hw.dram.bw_words_per_cycle * w, e_dram=conv.dram_energy_j_per_bit(hw),
        e_mac=conv.mac_energy_j(hw, t.mac_energy_j(mac_bits)),
        e_reg_per_mac=conv.pipeline_energy_j(hw.tensor_unit.register_accesses_per_mac * mac_bits
                                             * t.register_energy_j_per_bit()),
        e_lane=t.vector_lane_energy_j(), leak_w=leak, lanes=hw.vector_unit.lanes, pipeline=conv.pipeline,
        core_split=hw.tensor_unit.core_split, tile_sizes=tuple(hw.tensor_unit.tile_sizes),
        launch_cycles=hw.kernel_launch_s * hw.clock_hz)


def consts(hw: Hardware, sig: str | None = None) -> HwConsts:
    return _consts(sig or hw.signature())


def finite_positive(x: float) -> bool:
    return x > 0 and math.isfinite(x)
