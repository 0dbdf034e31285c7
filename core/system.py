"""What PyTorch is running on: version, device and threads; torchvision, loaded on first use."""

import platform
from dataclasses import dataclass


class SetupError(RuntimeError):
    """The Python environment lacks something a lesson needs; str(error) is a message to show as is."""


@dataclass(frozen=True)
class RuntimeInfo:
    torch_version: str
    device: str  # "cuda", "mps" or "cpu": the best device torch can use here
    device_name: str
    threads: int
    python_version: str


def best_device() -> str:
    """The fastest device available: CUDA, then Apple's MPS, then the CPU."""
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def devices() -> tuple[str, ...]:
    """Every device this machine can train on, the CPU first (the studio's default)."""
    import torch

    found = ["cpu"]
    if torch.cuda.is_available():
        found.append("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        found.append("mps")
    return tuple(found)


def runtime_info() -> RuntimeInfo:
    """Example: runtime_info().device -> 'cpu' on a laptop without a GPU."""
    import torch

    device = best_device()
    if device == "cuda":
        name = torch.cuda.get_device_name(0)
    elif device == "mps":
        name = "Apple GPU (Metal)"
    else:
        name = platform.processor() or platform.machine()
    return RuntimeInfo(torch.__version__, device, name, torch.get_num_threads(), platform.python_version())


def torchvision():
    """`import torchvision`, or a SetupError saying how to fix the install.

    A torchvision built for another torch version fails on import, e.g. with "operator torchvision::nms does
    not exist"; a learner should read what to do, not that.
    """
    try:
        import torchvision
    except Exception as exc:  # ImportError; RuntimeError or OSError from a build that does not match torch
        import torch

        detail = f"{type(exc).__name__}: {exc}"
        detail = detail if len(detail) <= 160 else detail[:157] + "..."
        raise SetupError(
            f"This lesson needs torchvision, and it could not be loaded ({detail}). torchvision must be the build "
            f"made for the installed torch ({torch.__version__}): install the two together, e.g. "
            "`pip install -r requirements.txt` in the project's environment, then restart the app.") from None
    return torchvision
