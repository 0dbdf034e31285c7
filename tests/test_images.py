"""core.images: MNIST / CIFAR-10 sample images and uploaded files as float tensors; the code that loads them."""

import pytest
import torch

from core import images
from tests.helpers import run_panel


def test_sample_images_and_uploads():
    import io

    from PIL import Image

    from core.mnist import load_mnist

    sample, labels = images.sample_images("MNIST", 5)
    mnist = load_mnist()
    assert sample.shape == (5, 1, 28, 28) and torch.equal(sample * 255, mnist.x_test[:5].float())
    assert labels == [str(int(y)) for y in mnist.y_test[:5]]
    cifar, names = images.sample_images("CIFAR-10", 12)
    assert cifar.shape == (12, 3, 32, 32) and cifar.min() >= 0 and cifar.max() <= 1
    assert names[:3] == ["airplane", "automobile", "bird"]
    buffer = io.BytesIO()
    Image.new("RGB", (300, 150), (255, 0, 0)).save(buffer, "PNG")
    up = images.decode_upload(buffer.getvalue())
    assert up.shape == (3, 48, 96) and torch.allclose(up[0], torch.ones(48, 96))
    assert images.decode_upload(buffer.getvalue(), grey=True).shape == (1, 48, 96)
    with pytest.raises(ValueError, match="could not be read as an image"):
        images.decode_upload(b"\x89PNG broken")
    with pytest.raises(ValueError, match="empty"):
        images.decode_upload(b"")


def test_image_code_loads_the_same_image():
    sample, _ = images.sample_images("MNIST", 5)
    results = run_panel("\n".join(images.image_code("MNIST", 4, tuple(sample[4].shape), count=5)))
    assert results == [(4, "(1, 28, 28)", "(1, 28, 28)")]
    grey = images.image_code("CIFAR-10", 1, (1, 32, 32), grey=True)[1]
    assert "image.mean(0, keepdim=True)" in grey
    imports, upload = images.image_code("Upload", 0, (3, 48, 96), upload_name="cat.png")
    assert imports == "from core.images import decode_upload"
    assert "open('cat.png', \"rb\")" in upload and "decode_upload(file.read(), grey=False)" in upload
