"""Batches on whole uint8 tensors: seeded index batches, augmentation checked pixel by pixel, normalisation
against torchvision's transforms, previews."""


import numpy as np
import torch

from core.batches import augment, batches, class_examples, normalize, tile

# --- batches, augmentation, normalisation ----------------------------------------------------------------------

def test_batches_cover_every_index_once_and_follow_the_seed():
    got = list(batches(10, 4, torch.Generator().manual_seed(3)))
    assert [len(b) for b in got] == [4, 4, 2]
    assert sorted(torch.cat(got).tolist()) == list(range(10))
    again = list(batches(10, 4, torch.Generator().manual_seed(3)))
    assert all(torch.equal(a, b) for a, b in zip(got, again, strict=True))
    assert [len(b) for b in batches(10, 4, drop_last=True)] == [4, 4]


def test_normalize_matches_torchvision_transforms(mnist):
    from torchvision.transforms import v2

    x = mnist.x_train[:8]
    ours = normalize(x, mnist.mean, mnist.std)
    ref = v2.Normalize(mnist.mean, mnist.std)(v2.ToDtype(torch.float32, scale=True)(x))
    assert torch.allclose(ours, ref, atol=1e-5)
    rgb = torch.randint(0, 256, (4, 3, 5, 5), dtype=torch.uint8)
    mean, std = (0.4, 0.5, 0.6), (0.2, 0.25, 0.3)
    ref = (rgb.float() / 255 - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    assert torch.allclose(normalize(rgb, mean, std), ref, atol=1e-5)


def test_augment_is_a_crop_of_the_padded_image_and_a_flip():
    x = torch.randint(0, 256, (16, 3, 8, 8), dtype=torch.uint8)
    out = augment(x, torch.Generator().manual_seed(0), crop_padding=2, flip=True)
    g = torch.Generator().manual_seed(0)  # replay the same draws
    dy = torch.randint(0, 5, (16,), generator=g)
    dx = torch.randint(0, 5, (16,), generator=g)
    flips = torch.rand(16, generator=g) < 0.5
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    for i in range(16):
        expected = padded[i, :, dy[i]:dy[i] + 8, dx[i]:dx[i] + 8]
        if flips[i]:
            expected = expected.flip(2)
        assert torch.equal(out[i], expected)
    assert out.dtype == torch.uint8 and 0 < flips.sum() < 16
    only_flip = augment(x, torch.Generator().manual_seed(1), crop_padding=0, flip=True)
    assert all(torch.equal(a, b) or torch.equal(a, b.flip(2)) for a, b in zip(only_flip, x, strict=True))


def test_subset_and_class_examples(mnist):
    sub = mnist.subset(1000, 200, seed=1)
    assert len(sub.y_train) == 1000 and len(sub.y_test) == 200
    assert torch.equal(sub.y_train, mnist.subset(1000, 200, seed=1).y_train)
    idx = class_examples(mnist.y_test, 10, 5, seed=0)
    assert idx.shape == (10, 5)
    assert all((mnist.y_test[idx[k]] == k).all() for k in range(10))
    grid = tile(mnist.x_test[idx.flatten()], nrow=5, pad=1)
    assert grid.shape == (10 * 29 + 1, 5 * 29 + 1, 1) and grid.dtype == np.uint8
    assert np.array_equal(grid[1:29, 1:29, 0], mnist.x_test[idx[0, 0], 0].numpy())
