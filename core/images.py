"""Real images for the filter and pooling lessons: MNIST / CIFAR-10 test images, and the learner's uploads.

Both come back as floats in [0, 1], (N, C, H, W) or (C, H, W), ready for nn.Conv2d and the pooling layers.
"""

import torch
import torch.nn.functional as F

SAMPLE_SETS = ("MNIST", "CIFAR-10")


def sample_images(dataset: str, count: int = 40) -> tuple[torch.Tensor, list[str]]:
    """`count` test images of MNIST or CIFAR-10 as floats in [0, 1], (N, C, H, W), with their class names.

    CIFAR-10 images are decoded one by one from an ImageFolder copy (no need to load all 60,000); raises
    core.image_data.DataUnavailable when the dataset is not on this machine.
    Example: sample_images("MNIST", 2)[0].shape -> (2, 1, 28, 28)
    """
    from core.cifar10 import find_cifar10, load_cifar10
    from core.datasets import load_shared
    from core.image_data import DataUnavailable
    from core.image_folders import decode_image

    if dataset == "MNIST":
        mnist = load_shared("mnist")  # the process-wide copy the Training pages use too
        return mnist.x_test[:count].float() / 255, [mnist.classes[int(y)] for y in mnist.y_test[:count]]
    if dataset != "CIFAR-10":
        raise ValueError(f"dataset must be one of {SAMPLE_SETS}")
    found = find_cifar10()
    if found is None:
        raise DataUnavailable("CIFAR-10 is not on this machine: pick MNIST or upload an image.")
    if found.layout == "batches":
        cifar = load_cifar10()
        return cifar.x_test[:count].float() / 255, [cifar.classes[int(y)] for y in cifar.y_test[:count]]
    classes = sorted(p.name for p in (found.path / "test").iterdir() if p.is_dir())
    files = {c: sorted((found.path / "test" / c).iterdir()) for c in classes}
    images, labels = [], []
    for i in range(count):  # round robin over the classes: a varied sample
        c = classes[i % len(classes)]
        path = files[c][i // len(classes)]
        images.append(decode_image(path.read_bytes(), 32, 3))
        labels.append(c)
    return torch.stack(images).float() / 255, labels


MAX_UPLOAD_SIDE = 96  # uploaded images are shrunk to at most this many pixels a side: the maps stay readable


def decode_upload(raw: bytes, *, grey: bool = False, max_side: int = MAX_UPLOAD_SIDE) -> torch.Tensor:
    """An uploaded image file -> (C, H, W) floats in [0, 1], shrunk (keeping its aspect) to `max_side`.

    Raises ValueError with a message for the learner when the bytes are not an image.
    """
    from core.image_folders import decode_image

    if not raw:
        raise ValueError("The file is empty.")
    try:
        img = decode_image(raw, None, 1 if grey else 3)  # (C, H, W) uint8
    except Exception as exc:  # torchvision and Pillow raise several kinds on bad bytes
        raise ValueError("This file could not be read as an image (JPEG, PNG, GIF, WebP or BMP).") from exc
    h, w = img.shape[1:]
    if max(h, w) > max_side:
        scale = max_side / max(h, w)
        size = (max(1, round(h * scale)), max(1, round(w * scale)))
        img = F.interpolate(img[None].float(), size=size, mode="bilinear", antialias=True, align_corners=False)[0]
    return img.float().clamp(0, 255) / 255


def image_code(source: str, index: int, shape: tuple[int, ...], *, count: int = 40, grey: bool = False,
               upload_name: str | None = None) -> tuple[str, str]:
    """(import line, loading lines) that put the image a lesson shows into `image`, (C, H, W) floats in [0, 1]."""
    if source == "Upload":
        return "from core.images import decode_upload", "\n".join([
            f"with open({upload_name!r}, \"rb\") as file:  # your image",
            f"    image = decode_upload(file.read(), grey={grey})  # shrunk to at most {MAX_UPLOAD_SIDE} px a side",
            f"print(tuple(image.shape))  # {tuple(shape)}"])
    lines = [f"images, labels = sample_images({source!r}, {count})  # test images as floats in [0, 1]",
             f"image = images[{index}]"]
    if grey:
        lines.append("image = image.mean(0, keepdim=True)  # grey: one input channel")
    return "from core.images import sample_images", "\n".join([*lines, f"print(tuple(image.shape))  # {tuple(shape)}"])
