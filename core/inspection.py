"""Inside a trained network: one image through the model with hooks on every convolution (feature maps), the
softmax it ends with; and the small MNIST CNN the lessons train when the learner has no model of their own."""

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class Inspection:
    probs: torch.Tensor  # (classes,) softmax of the logits
    layers: list[tuple[str, torch.Tensor]]  # (name, output (C, H, W)) of every Conv2d, in call order


def inspect(model: nn.Module, x: torch.Tensor) -> Inspection:
    """Run one input (1, C, H, W) through the model in eval mode under inference_mode; keep each conv's output.

    The model's mode is restored afterwards and no hook is left behind. Use a private copy of a model that other
    threads may run at the same time (hooks are per module, not per call).
    """
    if x.dim() != 4 or x.shape[0] != 1:
        raise ValueError("inspect takes one input of shape (1, C, H, W)")
    outputs: list[tuple[str, torch.Tensor]] = []
    hooks = [m.register_forward_hook(lambda _m, _i, out, n=name: outputs.append((n, out[0].detach().cpu())))
             for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    was_training = model.training
    device = next(model.parameters()).device
    try:
        model.eval()
        with torch.inference_mode():
            logits = model(x.to(device))  # (1, classes)
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()
    return Inspection(logits[0].float().softmax(0).cpu(), outputs)


QUICK_STEPS_NOTE = "2 epochs of Adam on 6,000 MNIST training images"


def train_quick_cnn(data, *, progress=None, burst_s: float = 0.25) -> tuple[nn.Module, float]:
    """Train the small CNN of the Training section (conv 5x5 x8 -> pool -> conv 3x3 x16 -> pool -> 128 -> 10) on
    an MNIST subset, in bursts, reporting `progress(fraction)`; returns (model in eval mode, test accuracy)."""
    from core import models, training

    model_cfg = models.ModelConfig("cnnnet", in_channels=1, image_size=28)
    train_cfg = training.TrainConfig("adam", lr=2e-3, batch_size=64, epochs=2, train_subset=6000, val_fraction=0.0,
                                     test_every_epoch=False, seed=0)
    trainer = training.Trainer(models.build_model(model_cfg, seed=0), data, train_cfg)
    while not trainer.done:
        trainer.run(max_seconds=burst_s)
        if progress is not None:
            progress(trainer.progress)
    if trainer.status != "finished":
        raise RuntimeError(f"training did not finish: {trainer.history.reason}")
    trainer.release()
    return trainer.model.eval(), float(trainer.history.epochs[-1].test_acc)


_LOADERS = {"MNIST": "mnist", "Fashion-MNIST": "fashion-mnist", "CIFAR-10": "cifar10"}  # load_shared's names


def inspect_code(index: int, seen: Inspection, first_weight_shape: tuple[int, ...], *, dataset: str = "MNIST",
                 run_weights: tuple[str, dict] | None = None, image_size: int = 32,
                 accuracy: float | None = None) -> str:
    """The hooks behind `inspect` on test image `index`, printing the prediction and shapes the page shows.

    run_weights: (weights file, ModelConfig dict) of a Training studio run (its Weights (.pt) download), else the
    shared small CNN (train_quick_cnn: seeded, a few seconds) whose test `accuracy` the page shows. `dataset` names
    the run's dataset as the learner saw it; `image_size` is the size of a custom image folder's images.
    """
    pred = int(seen.probs.argmax())
    shapes = [tuple(out.shape) for _, out in seen.layers]
    imports = ["from core.batches import normalize"]
    if dataset in _LOADERS:
        imports.append("from core.datasets import load_shared")
        data_line = f"data = load_shared({_LOADERS[dataset]!r})"
    else:
        imports.append("from core.image_folders import load_image_folder")
        data_line = f"data = load_image_folder('path/to/your/images', size={image_size})  # {dataset}"
    if run_weights is None:
        imports.append("from core.inspection import train_quick_cnn")
        model_lines = ["# the lesson's small CNN: 2 epochs of Adam on 6,000 MNIST images, seeded (a few seconds)",
                       "model, accuracy = train_quick_cnn(data)"]
        if accuracy is not None:
            model_lines.append(f"print(accuracy)  # {accuracy}")
    else:
        file, cfg = run_weights
        imports.append("from core.models import ModelConfig, build_model")
        model_lines = [f"model = build_model(ModelConfig(**{cfg!r}), seed=None)",
                       f"model.load_state_dict(torch.load({file!r}, weights_only=True))  # the run's Weights (.pt)"]
    lines = ["import torch", "", *sorted(imports), "", data_line, *model_lines,
             f"x = normalize(data.x_test[{index}:{index + 1}], data.mean, data.std)  # (1, C, H, W) floats",
             "",
             "maps = []",
             "hooks = [m.register_forward_hook(lambda m, inp, out: maps.append(out[0]))",
             "         for m in model.modules() if isinstance(m, torch.nn.Conv2d)]",
             "model.eval()",
             "with torch.inference_mode():",
             "    probs = model(x).softmax(dim=1)[0]  # (classes,)",
             "for h in hooks:",
             "    h.remove()",
             f"print(probs.argmax().item(), [tuple(m.shape) for m in maps])  # {pred} {shapes}",
             "first = next(m for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)))",
             f"print(first.weight.shape)  # torch.Size({list(first_weight_shape)})"]
    return "\n".join(lines) + "\n"
