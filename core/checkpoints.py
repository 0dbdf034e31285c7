"""Checkpoints: a plain state_dict (.pt) and its config (.json); uploads are read with weights_only=True and
checked against the architecture before anything large is built.
"""

from __future__ import annotations

import io
import json

import torch
from torch import nn

from core.models import ModelConfig, build_model
from core.training import TrainConfig

MAX_CONFIG_BYTES = 64 * 1024


class CheckpointError(ValueError):
    """An uploaded checkpoint that cannot be used; str(error) says why, for the learner."""


def weights_bytes(model: nn.Module) -> bytes:
    """The model's state_dict as a .pt file: load it with model.load_state_dict(torch.load(f, weights_only=True))."""
    buffer = io.BytesIO()
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    torch.save(state, buffer)
    return buffer.getvalue()


def config_json(model_cfg: ModelConfig, train_cfg: TrainConfig | None = None, *, dataset: str = "",
                metrics: dict | None = None) -> str:
    """The JSON that goes with the weights: what to build before load_state_dict, and how it was trained."""
    return json.dumps({"format": "pytorch-lab/1", "dataset": dataset, "model": model_cfg.to_dict(),
                       "train": train_cfg.to_dict() if train_cfg else None, "metrics": metrics or {}}, indent=2)


def read_config_json(data: bytes | str) -> tuple[ModelConfig, dict]:
    """ModelConfig and the whole document from a config .json; CheckpointError with a reason otherwise."""
    if len(data) > MAX_CONFIG_BYTES:  # a config is a few hundred bytes; a huge one is not from this app
        raise CheckpointError(f"The config file is {len(data):,} bytes; a config saved here is under 4 KB. Use the "
                              ".json saved with the weights.")
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise CheckpointError("The config file is not valid JSON.") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("model"), dict):
        raise CheckpointError("The config file has no \"model\" section: use the .json saved with the weights.")
    try:
        return ModelConfig.from_dict(doc["model"]), doc
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"The config file describes no model this app can build: {exc}.") from None


def load_weights(data: bytes, model_cfg: ModelConfig) -> nn.Module:
    """Build `model_cfg` and load the state_dict in `data` (torch.load(weights_only=True), strict).

    Raises CheckpointError saying what is wrong: not a PyTorch file, not a state_dict, or weights that do not
    fit this architecture (missing / unexpected layers, shape mismatches).
    """
    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception:  # pickle, zip and torch errors all mean the same to a learner
        raise CheckpointError("This file is not a PyTorch weights file (.pt saved with torch.save) or it is "
                              "damaged.") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not state or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise CheckpointError("The file holds no state_dict (a dict of parameter names to tensors).")
    with torch.device("meta"):  # names and shapes only: a foreign config cannot make us allocate a huge model
        expected = build_model(model_cfg, seed=None).state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong = [f"{k}: file {tuple(state[k].shape)} vs model {tuple(v.shape)}" for k, v in expected.items()
             if k in state and state[k].shape != v.shape]
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} tensor(s), e.g. {', '.join(missing[:3])}")
        if unexpected:
            parts.append(f"{len(unexpected)} unknown tensor(s), e.g. {', '.join(unexpected[:3])}")
        if wrong:
            parts.append(f"{len(wrong)} shape mismatch(es), e.g. {'; '.join(wrong[:2])}")
        raise CheckpointError(f"These weights do not fit the architecture {model_cfg.arch!r} "
                              f"({'; '.join(parts)}). Choose the architecture they were trained with, or "
                              "upload the matching config .json.")
    n = sum(v.numel() for v in expected.values())
    if 4 * n > 2 * len(data) + 2**20:  # tensors that share one storage: small on disk, huge as a model
        raise CheckpointError(f"This file ({len(data):,} bytes) is far smaller than the {n:,} numbers these "
                              "weights need: it is not a plain state_dict.")
    model = build_model(model_cfg, seed=None)
    model.load_state_dict(state, strict=True)
    if not all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point()):
        raise CheckpointError("The weights contain NaN or infinite values (a diverged run?).")
    return model.eval()
