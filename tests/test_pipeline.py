"""The data pipeline against torchvision and the embedded MNIST: the IDX files torchvision reads hold MNIST
exactly, transforms give the numbers their formulas say, the DataLoader's arithmetic is len(loader)'s, and the
custom Dataset reads what ImageFolder reads."""

import numpy as np
import pytest
import torch

from core import loader, pipeline
from core.datasets import load_shared
from core.parsing import InputError


@pytest.fixture(scope="module")
def mnist():
    return pipeline.dataset("mnist")


def test_torchvision_reads_the_written_mnist_exactly(mnist):
    data = load_shared("mnist")
    assert len(mnist) == 60_000 and torch.equal(mnist.data, data.x_train[:, 0])
    assert torch.equal(mnist.targets, data.y_train.long())
    test = pipeline.dataset("mnist", train=False)
    assert len(test) == 10_000 and torch.equal(test.data, data.x_test[:, 0])
    image, label = mnist[7]
    assert image.mode == "L" and np.array_equal(np.asarray(image), data.x_train[7, 0].numpy()) and label == 3


def test_idx_header():
    t = torch.arange(6, dtype=torch.uint8).reshape(2, 3)
    assert pipeline.idx_bytes(t) == bytes([0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 0, 1, 2, 3, 4, 5])


def test_digit_folder_holds_mnist_test_digits():
    folder = pipeline.dataset("folder")
    data = load_shared("mnist")
    assert len(folder) == 10 * pipeline.FOLDER_PER_CLASS and folder.classes == [str(d) for d in range(10)]
    image, label = folder[pipeline.FOLDER_PER_CLASS * 3]  # the first 3
    first_three = (data.y_test == 3).nonzero()[0].item()
    assert label == 3 and image.mode == "RGB"
    assert np.array_equal(np.asarray(image)[..., 0], data.x_test[first_three, 0].numpy())  # PNG is lossless


def test_to_tensor_and_normalize_follow_their_formulas(mnist):
    image, _ = mnist[0]
    x = pipeline.compose(pipeline.Spec(), "mnist", 28)(image)
    raw = torch.from_numpy(np.asarray(image).copy()).float()
    mean, std = (s[0] for s in pipeline.stats("mnist"))
    torch.testing.assert_close(x[0], (raw / 255 - mean) / std)
    px = pipeline.pixel_path(image, "mnist", 14, 14)
    assert px.raw == int(raw[14, 14]) and px.to_tensor == px.raw / 255
    assert px.normalized == pytest.approx(x[0, 14, 14].item(), abs=1e-5)
    torch.testing.assert_close(pipeline.denormalize(x, "mnist"), (raw / 255)[None], atol=1e-6, rtol=0)
    with pytest.raises(InputError):
        pipeline.pixel_path(image, "mnist", 28, 0)


def test_augmentations_are_seeded_and_leave_the_global_generator(mnist):
    spec = pipeline.Spec(("crop", "flip", "rotate", "jitter"), 30.0, 0.5, True)
    state = torch.random.get_rng_state()
    a = pipeline.augmented(mnist, 5, spec, "mnist", 28, 3, 4)
    b = pipeline.augmented(mnist, 5, spec, "mnist", 28, 3, 4)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not torch.equal(a[0], a[1])  # seed and seed + 1 draw different crops and angles
    assert pipeline.augmented(mnist, 5, pipeline.Spec(("resize",)), "mnist", 28, 0, 1)[0].shape == (1, 48, 48)


@pytest.mark.parametrize("batch, drop", [(64, False), (64, True), (100, False), (7, True)])
def test_loader_arithmetic_is_torchs(batch, drop):
    ds = torch.utils.data.TensorDataset(torch.zeros(250, 1, 2, 2), torch.arange(250))
    f, images = loader.facts(ds, batch, True, drop, 0)
    dl = torch.utils.data.DataLoader(ds, batch_size=batch, drop_last=drop)
    sizes = [len(y) for _, y in dl]
    assert f.batches == len(dl) == len(sizes) and f.last_batch == sizes[-1] and images.shape == (batch, 1, 2, 2)
    again, _ = loader.facts(ds, batch, True, drop, 0)
    assert again.labels == f.labels and f.labels != list(range(batch))  # shuffled by its own seeded generator


def test_custom_dataset_reads_what_image_folder_reads():
    root = pipeline.write_digit_folder()
    ours = loader.FolderDataset(root)
    theirs = pipeline.dataset("folder")
    assert len(ours) == len(theirs)
    for i in (0, 45, len(ours) - 1):
        (a, la), (b, lb) = ours[i], theirs[i]
        assert la == lb and np.array_equal(np.asarray(a), np.asarray(b)[..., 0])


def test_measure_times_the_same_number_of_images(mnist):
    ds = pipeline.dataset("mnist", transform=pipeline.compose(pipeline.Spec(), "mnist", 28))
    timings = loader.measure(ds, load_shared("mnist").x_train, 0.1307, 0.3081, batch_size=32, batches=5)
    assert [t.images for t in timings] == [160, 160] and all(t.seconds > 0 for t in timings)
