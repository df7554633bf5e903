"""Hand-run sweep: benchmark CLIP size and training steps vs accuracy and training time (device given by torch)."""

import copy
import sys
import time

import torch

from frontend.proxy import bench, model as pm, train as pt

torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else torch.get_num_threads())
dev = torch.device(sys.argv[2] if len(sys.argv) > 2 else "cpu")
for width, layers, steps, batch, hd in [(32, 6, 1200, 128, 4), (32, 6, 1200, 128, 8), (32, 6, 800, 128, 4),
                                        (32, 6, 1600, 128, 4)]:
    cfg = copy.deepcopy(pm.CONFIG)
    for t in ("vision_cfg", "text_cfg"):
        cfg[t]["width"], cfg[t]["layers"] = width, layers
    cfg["text_cfg"]["heads"] = width // hd
    cfg["vision_cfg"]["head_width"] = hd
    m = pm.build(0, cfg).to(dev)
    t0 = time.time()
    pt.fit(m, steps, batch, 2e-3, 0.05, 40, 0)
    dt = time.time() - t0
    s = bench.score(m)
    print(f"hd{hd} w{width} l{layers} steps{steps} b{batch}: {dt:.0f}s zs {s['zero_shot_acc']:.3f} r1 {s['r1']:.3f} "
          f"r5 {s['r5']:.3f} (chance {s['chance_zero_shot']:.3f} {s['chance_r1']:.4f})", flush=True)
