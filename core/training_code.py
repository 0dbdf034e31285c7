"""The code that runs: a standalone training script equivalent to `Trainer`, written from the same values."""

from __future__ import annotations

from torch import nn

from core.models import ModelConfig, ResNet
from core.training import TrainConfig

_LOADERS = {"mnist": ("core.mnist", "load_mnist()"), "fashion-mnist": ("core.mnist", "load_fashion_mnist()"),
            "cifar10": ("core.cifar10", "load_cifar10()")}


def _optimizer_code(cfg: TrainConfig) -> str:
    # AdamW's own default weight_decay is 0.01, not 0: the script writes it whenever it is not the default's 0
    wd = f", weight_decay={cfg.weight_decay:g}" if cfg.weight_decay or cfg.optimizer == "adamw" else ""
    if cfg.optimizer == "sgd":
        nesterov = ", nesterov=True" if cfg.nesterov and cfg.momentum > 0 else ""
        return f"torch.optim.SGD(model.parameters(), lr={cfg.lr:g}, momentum={cfg.momentum:g}{nesterov}{wd})"
    if cfg.optimizer == "rmsprop":
        return f"torch.optim.RMSprop(model.parameters(), lr={cfg.lr:g}, momentum={cfg.momentum:g}{wd})"
    name = "Adam" if cfg.optimizer == "adam" else "AdamW"
    return f"torch.optim.{name}(model.parameters(), lr={cfg.lr:g}{wd})"


def _scheduler_code(cfg: TrainConfig) -> str:
    total = f"{cfg.epochs} * steps_per_epoch"
    if cfg.schedule == "onecycle":
        return (f"torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr={cfg.lr:g}, total_steps={total}, "
                f"pct_start={cfg.warmup:g}, cycle_momentum=False)")
    if cfg.schedule == "cosine":
        return f"torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max={total})"
    if cfg.schedule == "step":
        return (f"torch.optim.lr_scheduler.StepLR(optimizer, step_size={cfg.step_every} * steps_per_epoch, "
                f"gamma={cfg.gamma:g})")
    return "torch.optim.lr_scheduler.ConstantLR(optimizer, factor=1.0)  # constant lr"


def _split(cfg: TrainConfig, n_images: int) -> str:
    """What the script prints for its split: training images, validation images, steps per epoch."""
    n = min(cfg.train_subset, n_images) if cfg.train_subset else n_images
    n_val = int(n * cfg.val_fraction)
    return f"{n - n_val} {n_val} {(n - n_val) // cfg.batch_size}"


def training_code(dataset: str, model_cfg: ModelConfig, cfg: TrainConfig, model_code: str | None = None, *,
                  n_params: int | None = None, n_images: int | None = None) -> str:
    """A standalone script doing what Trainer does with these settings (same order of operations).

    `model_code`: the model as nn.Sequential code (`sequential_code`); otherwise it is built by name.
    `n_params`, `n_images` (the model's parameters, the dataset's training images): printed with the values the
    page shows.
    """
    size = model_cfg.image_size
    module, loader = _LOADERS.get(dataset, ("core.image_folders", f"load_image_folder('path/to/your/images', "
                                                                   f"size={size}, channels={model_cfg.in_channels})"))
    if model_code is None:
        model_code = (f"from core.models import ModelConfig, build_model\n"
                      f"model = build_model(ModelConfig(**{model_cfg.to_dict()!r}), seed={cfg.seed})")
    device = "cpu"
    bf16 = cfg.precision == "bf16"
    lines = [
        "import torch",
        "import torch.nn.functional as F",
        "from torch import nn",
        "from core.batches import augment, normalize",
        f"from {module} import {loader.split('(')[0]}  # images as uint8 tensors in memory",
        "",
        f"data = {loader}  # x_train: {'(N, C, H, W)'} uint8, y_train: (N,) int64",
        f"torch.manual_seed({cfg.seed})  # the initial weights and dropout masks (fine in a script of your own)",
        model_code,
    ]
    if n_params is not None:
        lines.append(f"print(sum(p.numel() for p in model.parameters()))  # {n_params}")
    if cfg.channels_last:
        lines.append("model = model.to(memory_format=torch.channels_last)  # NHWC: faster convolutions on CPUs")
    lines += [
        f"g = torch.Generator().manual_seed({cfg.seed})  # split, batch order and augmentation",
        "pool = torch.randperm(len(data.y_train), generator=g)",
    ]
    if cfg.train_subset:
        lines.append(f"pool = pool[:{cfg.train_subset}]  # a subset, for a quick run")
    lines += [
        f"n_val = int(len(pool) * {cfg.val_fraction:g})",
        "val_idx, train_idx = pool[:n_val].sort().values, pool[n_val:].sort().values",
        f"batch_size = {cfg.batch_size}",
        "steps_per_epoch = len(train_idx) // batch_size",
        *([] if n_images is None else [f"print(len(train_idx), len(val_idx), steps_per_epoch)  # {_split(cfg, n_images)}"]),
        f"optimizer = {_optimizer_code(cfg)}",
        f"scheduler = {_scheduler_code(cfg)}",
        "",
        f"for epoch in range({cfg.epochs}):",
        "    model.train()",
        "    order = train_idx[torch.randperm(len(train_idx), generator=g)]",
        "    for step in range(steps_per_epoch):",
        "        idx = order[step * batch_size:(step + 1) * batch_size]",
        "        x = data.x_train[idx]  # (B, C, H, W) uint8",
    ]
    if cfg.crop_padding or cfg.flip:
        lines.append(f"        x = augment(x, g, crop_padding={cfg.crop_padding}, flip={cfg.flip})  # whole batch at once")
    lines.append("        x = normalize(x, data.mean, data.std)  # float32, mean 0 and std 1 per channel")
    if cfg.channels_last:
        lines.append("        x = x.contiguous(memory_format=torch.channels_last)")
    smoothing = f", label_smoothing={cfg.label_smoothing:g}" if cfg.label_smoothing else ""
    if bf16:
        lines += [f"        with torch.autocast({device!r}, dtype=torch.bfloat16):  # bfloat16 matmuls and convs",
                  "            logits = model(x)  # (B, classes)"]
    else:
        lines.append("        logits = model(x)  # (B, classes)")
    lines += [
        f"        loss = F.cross_entropy(logits.float(), data.y_train[idx]{smoothing})",
        "        if not torch.isfinite(loss):",
        "            raise RuntimeError(f'diverged at epoch {epoch}, step {step}: lower the learning rate')",
        "        optimizer.zero_grad()",
        "        loss.backward()",
        "        optimizer.step()",
        "        scheduler.step()",
        "    model.eval()",
        "    with torch.inference_mode():",
        "        x_test = normalize(data.x_test, data.mean, data.std)",
    ]
    if bf16:
        lines += ["        with torch.autocast('cpu', dtype=torch.bfloat16):",
                  "            probs = model(x_test).float().softmax(1)"]
    else:
        lines.append("        probs = model(x_test).softmax(1)")
    if cfg.tta:
        lines.append("        probs = (probs + model(x_test.flip(3)).float().softmax(1)) / 2  # + the mirrored images")
    lines.append("    print(epoch + 1, 'test accuracy', (probs.argmax(1) == data.y_test).float().mean().item())")
    return "\n".join(lines)


def sequential_code(model: nn.Module) -> str | None:
    """The model written as one nn.Sequential (copyable code), or None when it has skip connections.

    Every leaf module's repr is valid constructor code, e.g. "Conv2d(1, 8, kernel_size=(5, 5), stride=(1, 1))".
    """
    if isinstance(model, ResNet):
        return None
    leaves = [m for m in model.modules() if not list(m.children()) and not isinstance(m, nn.Identity)]
    lines = []
    for m in leaves:
        args = m.extra_repr()
        for default in _DEFAULT_ARGS:  # drop arguments that only repeat the defaults: shorter, same model
            args = args.replace(default, "")
        lines.append(f"    nn.{type(m).__name__}({args.strip(', ')}),")
    return "model = nn.Sequential(\n" + "\n".join(lines) + "\n)"


_DEFAULT_ARGS = (", eps=1e-05", ", momentum=0.1", ", affine=True", ", bias=True", ", track_running_stats=True",
                 ", stride=(1, 1)", ", padding=0", ", dilation=1", ", ceil_mode=False", "approximate='none'",
                 "start_dim=1, end_dim=-1", ", inplace=False")
