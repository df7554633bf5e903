"""The real evaluator: open_clip weights (local checkpoint or pretrained tag), zero-shot on an image folder and
retrieval R@1/R@5 on a caption CSV, with importance ranking on a separate calibration CSV."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn

from frontend.clip import Arch, CLIPConfig, PruneError, Ranking, TowerRanking, macs, params, prune
from frontend.clip.errors import CheckpointError, ConfigError, DatasetError
from frontend.clip.metrics import encode, recall_at_k, zero_shot_accuracy

from .cache import ResultCache
from .datasets import caption_csv, image_folder

TEMPLATES = ("a photo of a {}.", "a picture of a {}.")


def load_openclip(arch: str | Mapping[str, Any], checkpoint: str | Path | None = None,
                  pretrained: str | None = None) -> tuple[nn.Module, Any, Any]:
    """(model, tokenizer, preprocess) of an open_clip architecture (a name or a config dict) with weights from
    a local checkpoint, or an open_clip pretrained tag (needs network access once). CheckpointError on mismatch."""
    import open_clip
    from open_clip.model import CLIP, CLIPTextCfg, CLIPVisionCfg

    from frontend.proxy.train import load_state
    logging.getLogger().setLevel(max(logging.getLogger().level, logging.ERROR))
    if isinstance(arch, Mapping):
        model = CLIP(embed_dim=arch["embed_dim"], vision_cfg=CLIPVisionCfg(**arch["vision_cfg"]),
                     text_cfg=CLIPTextCfg(**arch["text_cfg"]))
        tokenizer = open_clip.tokenizer.SimpleTokenizer(context_length=arch["text_cfg"].get("context_length", 77))
    else:
        if arch not in open_clip.list_models():
            raise ConfigError(f"open_clip architecture {arch!r} is unknown (see open_clip.list_models())")
        if pretrained and checkpoint:
            raise ConfigError("give a checkpoint or a pretrained tag, not both")
        try:
            model = open_clip.create_model(arch, pretrained=pretrained)
        except Exception as e:  # noqa: BLE001 - network or tag errors are one user error
            raise CheckpointError(f"open_clip {arch} pretrained={pretrained!r}: {type(e).__name__}: {e}") from None
        tokenizer = open_clip.get_tokenizer(arch)
    if checkpoint is not None:
        path = Path(checkpoint)
        if not path.is_file():
            raise CheckpointError(f"{path}: checkpoint file not found")
        load_state(model, path)
    elif not pretrained:
        raise CheckpointError("the openclip evaluator needs weights: a checkpoint path or a pretrained tag")
    size = model.visual.image_size
    preprocess = open_clip.image_transform(size, is_train=False)
    return model.eval(), tokenizer, preprocess


def _images(paths: list[Path], preprocess: Any) -> torch.Tensor:
    from PIL import Image
    out = []
    for p in paths:
        try:
            with Image.open(p) as im:
                out.append(preprocess(im.convert("RGB")))
        except OSError as e:
            raise DatasetError(f"{p}: unreadable image ({e})") from None
    return torch.stack(out)


def _digest(*parts: Any) -> str:
    h = hashlib.sha256()
    for p in parts:
        if isinstance(p, (str, Path)) and Path(p).is_file():
            st = Path(p).stat()
            h.update(f"{Path(p).resolve()}:{st.st_size}:{st.st_mtime_ns}".encode())
        else:
            h.update(json.dumps(p, sort_keys=True, default=str).encode())
    return h.hexdigest()[:12]


def _ranking(model: nn.Module, arch: Arch, tokenizer: Any, preprocess: Any, calibration: str | Path | None,
             cache: Path, base: str, batch: int) -> Ranking:
    """Importance ranking on the calibration CSV (cached per base model); keep-first without one."""
    if calibration is None:
        return Ranking(text=TowerRanking.identity(arch.text, "middle"), vision=TowerRanking.identity(arch.vision),
                       source={"method": "keep-first (no calibration data)"})
    path = cache / "rankings" / f"{base}-{_digest(calibration)}.json"
    if path.is_file():
        return Ranking.load(path)
    from frontend.clip.importance import rank
    from frontend.proxy.train import contrastive_loss
    cs = caption_csv(calibration)
    imgs, toks, ids = _images(cs.images, preprocess), tokenizer(cs.captions), torch.tensor(cs.owner)
    batches = [(imgs[ids[i:i + batch]], toks[i:i + batch], ids[i:i + batch]) for i in range(0, len(ids), batch)]
    r = rank(model, batches, contrastive_loss, text_layers="middle", source={"base": base, "data": str(calibration)})
    r.save(path)
    return r


@torch.no_grad()
def score(model: nn.Module, tokenizer: Any, preprocess: Any, zeroshot: str | Path | None = None,
          classnames: Any = None, retrieval: str | Path | None = None) -> dict[str, float]:
    """Zero-shot accuracy on an image folder and/or retrieval recall on a caption CSV."""
    if zeroshot is None and retrieval is None:
        raise DatasetError("the openclip evaluator needs data: zeroshot=<image folder> and/or retrieval=<CSV>")
    dev = next(model.parameters()).device
    out: dict[str, float] = {}
    if zeroshot is not None:
        ds = image_folder(zeroshot, classnames)
        cls = torch.stack([encode(model.encode_text, tokenizer([t.format(c) for t in TEMPLATES]).to(dev)).mean(0)
                           for c in ds.classnames])
        img = encode(model.encode_image, _images(ds.paths, preprocess).to(dev))
        out["zero_shot_acc"] = zero_shot_accuracy(img, nn.functional.normalize(cls, dim=-1), torch.tensor(ds.labels))
        out["chance_zero_shot"] = 1 / len(ds.classnames)
    if retrieval is not None:
        cs = caption_csv(retrieval)
        img = encode(model.encode_image, _images(cs.images, preprocess).to(dev))
        txt = encode(model.encode_text, tokenizer(cs.captions).to(dev))
        match = torch.zeros(len(cs.images), len(cs.captions), dtype=torch.bool)
        match[torch.tensor(cs.owner), torch.arange(len(cs.captions))] = True
        out.update(recall_at_k(img, txt, match))
    out["accuracy"] = out["r1"] if "r1" in out else out["zero_shot_acc"]
    return out


def evaluate_openclip(config: CLIPConfig, budget: int, cache: Path, use_cache: bool = True, *,
                      arch: str | Mapping[str, Any] = "ViT-B-16", checkpoint: str | Path | None = None,
                      pretrained: str | None = None, zeroshot: str | Path | None = None, classnames: Any = None,
                      retrieval: str | Path | None = None, calibration: str | Path | None = None,
                      batch: int = 64) -> dict[str, Any]:
    """Prune real open_clip weights to ``config`` (legal in the architecture's own space) and score them."""
    if budget:
        raise ConfigError("budget: recovery fine-tuning is implemented for the built-in benchmark only; "
                          "use budget 0 with the openclip evaluator")
    if calibration is not None and retrieval is not None and Path(calibration).resolve() == Path(retrieval).resolve():
        raise DatasetError(f"{calibration}: calibration data must be disjoint from the evaluation data")
    name = arch if isinstance(arch, str) else "custom"
    base = f"openclip-{name}-{_digest(arch, checkpoint, pretrained)}"
    evaluator = f"openclip-{_digest(zeroshot and str(Path(zeroshot).resolve()), classnames, retrieval, calibration)}"
    results = ResultCache(cache)
    if use_cache and (hit := results.get(base, config.key(), evaluator, budget)) is not None:
        return hit
    model, tokenizer, preprocess = load_openclip(arch, checkpoint, pretrained)
    try:
        a = Arch.of(model, name)
    except PruneError as e:
        raise CheckpointError(f"{name}: {e}") from None
    a.space().validate_config(config)
    ranking = _ranking(model, a, tokenizer, preprocess, calibration, cache, base, batch)
    pruned = prune(model, config, ranking)
    out: dict[str, Any] = dict(score(pruned, tokenizer, preprocess, zeroshot, classnames, retrieval))
    out.update(params=params(a, config), macs=macs(a, config), config=config.knobs(), base=base,
               evaluator="openclip", budget=budget, ranking=ranking.source.get("method", ""))
    results.put(base, config.key(), evaluator, budget, out)
    return out
