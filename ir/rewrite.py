"""Graph editing shared by the fusion passes: who reads what, replacing a set of ops by one, keeping blocks whole."""

from __future__ import annotations

from collections import defaultdict

from . import facts
from .graph import Graph, Op


class Editor:
    """A graph being rewritten in place: producer/reader maps, block membership, op order."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self.block_of = {n: b.name for b in graph.blocks for n in b.ops}
        self.used_before = self.used()
        self.refresh()

    def used(self) -> set[str]:
        g = self.graph
        return set(g.inputs) | set(g.outputs) | {a.tensor for o in g.ops for a in (*o.inputs, o.output)}

    def refresh(self) -> None:
        self.producer: dict[str, Op] = {o.output.tensor: o for o in self.graph.ops}
        self.readers: dict[str, list[Op]] = defaultdict(list)
        for o in self.graph.ops:
            for t in dict.fromkeys(a.tensor for a in o.inputs):
                self.readers[t].append(o)
        self.position = {o.name: i for i, o in enumerate(self.graph.ops)}

    def escapes(self, tensor: str, inside: set[str]) -> bool:
        """True when ``tensor`` is a graph output or some op outside ``inside`` (op names) reads it."""
        return tensor in self.graph.outputs or any(r.name not in inside for r in self.readers.get(tensor, ()))

    def same_block(self, ops: list[Op]) -> bool:
        return len({self.block_of.get(o.name) for o in ops}) == 1

    def fresh_name(self, base: str) -> str:
        names = {o.name for o in self.graph.ops}
        name, i = base, 1
        while name in names:
            name, i = f"{base}_{i}", i + 1
        return name

    def replace(self, old: list[Op], new: Op) -> None:
        """Put ``new`` where the last of ``old`` stood (every input of ``old`` is produced before it) and drop
        the others; ``new`` joins their block."""
        names = {o.name for o in old}
        block = self.block_of.get(old[0].name)
        last = max(self.position[n] for n in names)
        ops = []
        for i, o in enumerate(self.graph.ops):
            if i == last:
                ops.append(new)
            elif o.name not in names:
                ops.append(o)
        self.graph.ops = ops
        for n in names:
            self.block_of.pop(n, None)
        if block is not None:
            self.block_of[new.name] = block
        self.refresh()

    def remove(self, op: Op) -> None:
        self.graph.ops = [o for o in self.graph.ops if o.name != op.name]
        self.block_of.pop(op.name, None)
        self.refresh()

    def rewire(self, old: str, new: str) -> None:
        """Every reader of tensor ``old`` (and the graph outputs) reads ``new`` instead."""
        for o in self.graph.ops:
            for j, a in enumerate(o.inputs):
                if a.tensor == old:
                    o.inputs[j] = type(a)(new, a.index)
        self.graph.outputs = [new if t == old else t for t in self.graph.outputs]
        self.refresh()

    def finish(self) -> Graph:
        """Blocks list their surviving ops in graph order; tensors the edits left unreferenced, and their facts,
        go (tensors that were unreferenced before stay: a pass that changes nothing returns an equal graph)."""
        g = self.graph
        members: dict[str, list[str]] = defaultdict(list)
        for o in g.ops:
            if o.name in self.block_of:
                members[self.block_of[o.name]].append(o.name)
        for b in g.blocks:
            b.ops = tuple(members.get(b.name, ()))
        g.blocks = [b for b in g.blocks if b.ops]
        gone = self.used_before - self.used()
        # a derived weight names its origin (tied weights count once there): the origin stays while it survives
        gone -= {r for n, t in g.tensors.items() if n not in gone for r in t.origin}
        g.tensors = {n: t for n, t in g.tensors.items() if n not in gone}
        facts.prune(g)
        return g
