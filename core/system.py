"""What PyTorch is running on: version, device and threads."""

import platform
from dataclasses import dataclass


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
