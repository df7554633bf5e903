"""Hand-built IR graphs for backend tests and benches: a GEMM and CLIP-style transformer towers (folded blocks)."""

from __future__ import annotations

from ir import Access, Block, Graph, Op, OpKind, TensorRole, validate


def gemm(m: int, k: int, n: int, weight: bool = True, name: str | None = None) -> Graph:
    g = Graph(name or f"gemm_{m}x{k}x{n}")
    g.add_tensor("x", (m, k), 8, TensorRole.INPUT)
    g.add_tensor("w", (k, n), 8, TensorRole.PARAM if weight else TensorRole.INPUT)
    g.add_tensor("y", (m, n), 8)
    g.inputs = ["x"] + ([] if weight else ["w"])
    g.outputs = ["y"]
    g.ops.append(Op("mm", OpKind.MATMUL, {"m": m, "n": n, "k": k}, [Access("x", ("m", "k")), Access("w", ("k", "n"))],
                    Access("y", ("m", "n")), reduce=("k",), fn="matmul"))
    return validate(g)


class _B:
    def __init__(self, g: Graph):
        self.g, self.i = g, 0

    def t(self, shape, role=TensorRole.ACTIVATION) -> str:
        self.i += 1
        name = f"t{self.i}"
        self.g.add_tensor(name, shape, 8, role)
        return name

    def op(self, name, kind, dims, ins, out, reduce=(), fn="") -> None:
        self.g.ops.append(Op(name, kind, dict(dims), [Access(t, tuple(ix)) for t, ix in ins],
                             Access(out[0], tuple(out[1])), reduce=tuple(reduce), fn=fn))

    def linear(self, name, x, s, k, n) -> str:
        w = self.t((k, n), TensorRole.PARAM)
        y = self.t((s, n))
        self.op(name, OpKind.MATMUL, {"s": s, "n": n, "k": k}, [(x, ("s", "k")), (w, ("k", "n"))], (y, ("s", "n")),
                ("k",), "matmul")
        return y

    def ew(self, name, fn, xs, s, d) -> str:
        y = self.t((s, d))
        self.op(name, OpKind.ELEMENTWISE, {"s": s, "d": d}, [(x, ("s", "d")) for x in xs], (y, ("s", "d")), fn=fn)
        return y

    def norm(self, name, x, s, d) -> str:
        y = self.t((s, d))
        self.op(name, OpKind.NORMALIZATION, {"s": s, "d": d}, [(x, ("s", "d"))], (y, ("s", "d")), ("d",), "layer_norm")
        return y


def tower(name: str, tokens: int, width: int, heads: int, ffn: int, layers: int, patch: int | None = None,
          embed: int = 512) -> Graph:
    """A pre-norm transformer tower; with ``patch`` a ViT (16x16 patch conv over 224x224 + class token)."""
    g = Graph(name)
    b = _B(g)
    hd = 64
    if patch:
        img = b.t((3, 224, 224), TensorRole.INPUT)
        g.inputs = [img]
        wconv = b.t((width, 3, patch, patch), TensorRole.PARAM)
        grid = 224 // patch
        pe = b.t((width, grid, grid))
        b.op("patch_embed", OpKind.CONV, {"oc": width, "oh": grid, "ow": grid, "c": 3, "kh": patch, "kw": patch},
             [(img, ("c", f"oh*{patch}+kh", f"ow*{patch}+kw")), (wconv, ("oc", "c", "kh", "kw"))],
             (pe, ("oc", "oh", "ow")), ("c", "kh", "kw"), "conv2d")
        x = b.t((tokens, width))
        b.op("tokens", OpKind.CONCAT, {"s": tokens, "d": width}, [(pe, ("d", "0", "0"))], (x, ("s", "d")), fn="concat")
    else:
        ids = b.t((tokens,), TensorRole.INPUT)
        g.inputs = [ids]
        table = b.t((49408, width), TensorRole.PARAM)
        x = b.t((tokens, width))
        b.op("embed", OpKind.EMBEDDING, {"s": tokens, "d": width}, [(ids, ("s",)), (table, ("0", "d"))],
             (x, ("s", "d")), fn="gather")
    first = len(g.ops)
    s, d = tokens, width
    h = b.norm("ln1", x, s, d)
    qkv = b.linear("qkv", h, s, d, 3 * heads * hd)
    q = b.t((heads, s, hd))
    b.op("split_q", OpKind.RESHAPE, {"h": heads, "s": s, "e": hd}, [(qkv, ("s", "h*64+e"))], (q, ("h", "s", "e")))
    kt = b.t((heads, s, hd))
    b.op("split_k", OpKind.RESHAPE, {"h": heads, "s": s, "e": hd}, [(qkv, ("s", "h*64+e"))], (kt, ("h", "s", "e")))
    v = b.t((heads, s, hd))
    b.op("split_v", OpKind.RESHAPE, {"h": heads, "s": s, "e": hd}, [(qkv, ("s", "h*64+e"))], (v, ("h", "s", "e")))
    sc = b.t((heads, s, s))
    b.op("qk", OpKind.BATCH_MATMUL, {"h": heads, "i": s, "j": s, "e": hd},
         [(q, ("h", "i", "e")), (kt, ("h", "j", "e"))], (sc, ("h", "i", "j")), ("e",), "matmul")
    p = b.t((heads, s, s))
    b.op("softmax", OpKind.SOFTMAX, {"h": heads, "i": s, "j": s}, [(sc, ("h", "i", "j"))], (p, ("h", "i", "j")), ("j",),
         "softmax")
    av = b.t((heads, s, hd))
    b.op("av", OpKind.BATCH_MATMUL, {"h": heads, "i": s, "e": hd, "j": s}, [(p, ("h", "i", "j")), (v, ("h", "j", "e"))],
         (av, ("h", "i", "e")), ("j",), "matmul")
    merged = b.t((s, heads * hd))
    b.op("merge", OpKind.RESHAPE, {"s": s, "h": heads, "e": hd}, [(av, ("h", "s", "e"))], (merged, ("s", "h*64+e")))
    o = b.linear("proj", merged, s, heads * hd, d)
    x2 = b.ew("res1", "add", [o, x], s, d)
    h2 = b.norm("ln2", x2, s, d)
    f1 = b.linear("fc1", h2, s, d, ffn)
    a = b.ew("gelu", "gelu", [f1], s, ffn)
    f2 = b.linear("fc2", a, s, ffn, d)
    x3 = b.ew("res2", "add", [f2, x2], s, d)
    g.blocks.append(Block("layers", tuple(o.name for o in g.ops[first:]), layers))
    hf = b.norm("ln_final", x3, s, d)
    pooled = b.t((1, d))
    b.op("pool", OpKind.SLICE, {"s": 1, "d": d}, [(hf, ("0", "d"))], (pooled, ("s", "d")))
    out = b.linear("head", pooled, 1, d, embed)
    g.outputs = [out]
    return validate(g)


def clip_b16_towers() -> tuple[Graph, Graph]:
    """CLIP ViT-B/16: image tower (197 tokens, 768 wide, 12 heads, FFN 3072, 12 layers), text tower (77 tokens,
    512 wide, 8 heads, FFN 2048, 12 layers); one graph each, layers folded into a block of 12."""
    return (tower("clip_b16_image", 197, 768, 12, 3072, 12, patch=16),
            tower("clip_b16_text", 77, 512, 8, 2048, 12))
