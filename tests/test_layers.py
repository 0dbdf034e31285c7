"""core.layers against torch itself: conv arithmetic, filters, pooling, BatchNorm and dropout behaviours."""

import random

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from core import layers
from core.layers import BatchNormConfig, ConvConfig, DeepMLPConfig


def _random_configs(count: int, seed: int = 0):
    rng = random.Random(seed)
    for _ in range(count):
        yield ConvConfig(size=rng.randint(1, 12), in_channels=rng.choice([1, 2, 3, 4, 6]),
                         out_channels=rng.choice([1, 2, 3, 4, 6, 8]), kernel=rng.randint(1, 5),
                         stride=rng.randint(1, 3), padding=rng.randint(0, 3), dilation=rng.randint(1, 3),
                         groups=rng.choice([1, 2, 3]), bias=rng.random() < 0.5)


def test_formula_matches_nn_conv2d_over_random_configs_and_invalid_ones_are_explained():
    valid = invalid = 0
    for cfg in _random_configs(400):
        problem = layers.conv_problem(cfg)
        if problem is None:
            conv = layers.build_conv(cfg)
            y = conv(torch.zeros(1, cfg.in_channels, cfg.size, cfg.size))
            out = layers.conv_output_size(cfg.size, cfg.kernel, cfg.stride, cfg.padding, cfg.dilation)
            assert y.shape == (1, cfg.out_channels, out, out), cfg
            assert layers.conv_param_count(cfg) == sum(p.numel() for p in conv.parameters())
            valid += 1
        else:
            # torch refuses it too: either when building the layer or when running it
            with pytest.raises((ValueError, RuntimeError)):
                layers.build_conv(cfg)(torch.zeros(1, cfg.in_channels, cfg.size, cfg.size))
            invalid += 1
    assert valid > 100 and invalid > 50


def test_invalid_messages_name_the_rule():
    msg = layers.conv_problem(ConvConfig(size=2, kernel=3))
    assert "<= 0" in msg and "d(k-1)+1" in msg
    msg = layers.conv_problem(ConvConfig(size=5, kernel=3, dilation=3))
    assert "spans" in msg and "= 7" in msg
    msg = layers.conv_problem(ConvConfig(in_channels=3, out_channels=4, groups=2))
    assert "in_channels (3) is not divisible by groups (2)" in msg and "[1]" in msg
    msg = layers.conv_problem(ConvConfig(in_channels=4, out_channels=3, groups=2))
    assert "out_channels (3) is not divisible by groups (2)" in msg
    assert layers.conv_problem(ConvConfig()) is None


def test_seed_worked_shapes():
    # 32x32x3 -> conv5 -> 28x28x8 -> pool -> 14x14x8 -> conv3 -> 12x12x16 -> pool -> 6x6x16 = 576
    assert layers.conv_output_size(32, 5) == 28
    assert layers.conv_output_size(28, 2, stride=2) == 14
    assert layers.conv_output_size(14, 3) == 12
    assert layers.conv_output_size(12, 2, stride=2) == 6
    assert 6 * 6 * 16 == 576
    assert layers.conv_param_count(ConvConfig(in_channels=3, out_channels=8, kernel=5)) == 3 * 8 * 25 + 8


@pytest.mark.parametrize("cfg", [ConvConfig(), ConvConfig(size=6, in_channels=4, out_channels=2, kernel=3, stride=2,
                                                          padding=1, dilation=2, groups=2),
                                 ConvConfig(size=5, in_channels=3, out_channels=3, kernel=2, groups=3, bias=False)])
def test_step_dot_product_equals_conv_output_everywhere(cfg):
    run = layers.run_conv(cfg, seed=3)
    assert run.y.shape[-1] == run.formula_size
    assert run.params == layers.conv_param_count(cfg)
    for oc in range(cfg.out_channels):
        for i in range(run.formula_size):
            for j in range(run.formula_size):
                step = layers.conv_step(run, oc, i, j)
                assert step.total == pytest.approx(step.torch_value, abs=1e-5)
                assert len(step.terms) == cfg.kernel ** 2 * cfg.in_channels // cfg.groups
                assert {t.in_channel for t in step.terms} == set(layers.input_channels_of(cfg, oc))


def test_receptive_mask_marks_dilated_kernel_cells():
    cfg = ConvConfig(size=7, kernel=3, stride=2, padding=1, dilation=2)
    mask = layers.receptive_mask(cfg, 1, 0)
    assert mask.shape == (9, 9) and mask.sum() == 9
    assert torch.nonzero(mask)[:, 0].unique().tolist() == [2, 4, 6]
    assert torch.nonzero(mask)[:, 1].unique().tolist() == [0, 2, 4]


def test_filters_equal_conv2d_with_the_named_kernels():
    image = torch.rand(1, 10, 12, generator=torch.Generator().manual_seed(0))
    run = layers.apply_filters(image, ("identity", "edge: vertical (Sobel x)", "random"), seed=1)
    assert run.maps.shape == (3, 10, 12)
    assert torch.allclose(run.maps[0], image[0])  # identity
    sobel = torch.tensor(layers.FILTERS["edge: vertical (Sobel x)"], dtype=torch.float32).view(1, 1, 3, 3)
    assert torch.allclose(run.maps[1], F.conv2d(image[None], sobel, padding=1)[0, 0], atol=1e-6)
    # a constant image has no edges inside
    flat = layers.apply_filters(torch.ones(3, 8, 8), ("edge: all directions (Laplacian)", "blur: box"))
    assert flat.maps[0, 1:-1, 1:-1].abs().max() < 1e-6
    assert torch.allclose(flat.maps[1, 1:-1, 1:-1], torch.ones(6, 6))
    relu = layers.apply_filters(image, ("random",), seed=1, relu=True)
    assert relu.maps.min() >= 0 and torch.allclose(relu.maps[0], run.maps[2].clamp(min=0))
    with pytest.raises(ValueError):
        layers.apply_filters(image, ())


def test_pooling_matches_functional_and_adaptive_windows():
    x = torch.arange(36.0).view(1, 6, 6)
    assert torch.equal(layers.pool(x, "max"), torch.tensor([[[7.0, 9, 11], [19, 21, 23], [31, 33, 35]]]))
    assert torch.equal(layers.pool(x, "avg"), F.avg_pool2d(x[None], 2)[0])
    assert layers.pool(x, "adaptive avg", output_size=4).shape == (1, 4, 4)
    assert layers.adaptive_windows(5, 3) == [(0, 2), (1, 4), (3, 5)]
    x5 = torch.randn(1, 5, 5, generator=torch.Generator().manual_seed(0))
    out = layers.pool(x5, "adaptive max", output_size=3)
    for i, (r0, r1) in enumerate(layers.adaptive_windows(5, 3)):
        for j, (c0, c1) in enumerate(layers.adaptive_windows(5, 3)):
            assert out[0, i, j] == x5[0, r0:r1, c0:c1].max()
    values, idx = layers.max_pool_indices(x[0], 2, 2)
    assert idx[0, 0] == 7 and values[2, 2] == 35
    assert "at most half" in layers.pool_problem(8, 2, 2, 2)
    assert "<= 0" in layers.pool_problem(2, 3, 1, 0)
    with pytest.raises(ValueError):
        layers.pool(x, "max", kernel=2, padding=2)


def test_upsample_nearest_repeats_and_bilinear_keeps_constants():
    x = torch.tensor([[[1.0, 2.0], [3.0, 4.0]]])
    assert torch.equal(layers.upsample(x, 2, "nearest")[0],
                       torch.tensor([[1.0, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]))
    assert torch.allclose(layers.upsample(torch.full((1, 3, 3), 5.0), 2.5, "bilinear"), torch.tensor(5.0))
    assert layers.upsample(x, 3, "bilinear").shape == (1, 6, 6)


@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
def test_batchnorm_running_statistics_follow_the_update_rule(momentum):
    run = layers.batchnorm_run(BatchNormConfig(features=3, batch=8, steps=6, momentum=momentum, seed=2))
    assert torch.allclose(run.running_mean, run.expected_running_mean, atol=1e-5)
    assert torch.allclose(run.running_var, run.expected_running_var, atol=1e-5)
    assert run.num_batches_tracked == 6
    assert torch.allclose(run.train_out, run.train_manual, atol=1e-5)
    assert torch.allclose(run.eval_out, run.eval_manual, atol=1e-5)
    # train mode: every feature of the batch comes out with mean 0 and (biased) variance 1
    assert torch.allclose(run.train_out.mean(0), torch.zeros(3), atol=1e-5)
    assert torch.allclose(run.train_out.var(0, unbiased=False), torch.ones(3), atol=1e-3)
    # eval mode differs: the running statistics are not this batch's statistics
    assert not torch.allclose(run.train_out, run.eval_out, atol=1e-3)


def test_batchnorm_first_step_with_momentum_one_tenth():
    run = layers.batchnorm_run(BatchNormConfig(features=1, batch=4, steps=1, momentum=0.1, seed=0))
    x = run.last_batch[:, 0]
    assert run.running_mean[1, 0].item() == pytest.approx(0.1 * x.mean().item(), rel=1e-5)
    assert run.running_var[1, 0].item() == pytest.approx(0.9 + 0.1 * x.var(unbiased=True).item(), rel=1e-5)
    with pytest.raises(ValueError, match="at least 2 samples"):
        layers.batchnorm_run(BatchNormConfig(batch=1))


def test_deep_mlp_batchnorm_keeps_activations_alive():
    cfg = DeepMLPConfig(depth=8, width=64, activation="tanh", init_std=0.02, batch=256)
    without = layers.layer_activations(cfg, batchnorm=False)
    with_bn = layers.layer_activations(cfg, batchnorm=True)
    assert without.shape == with_bn.shape == (8, 256 * 64)
    assert without[-1].std() < 1e-3  # small weights: the signal vanishes layer after layer
    assert with_bn[-1].std() > 0.3  # BN renormalises each layer
    model = layers.deep_mlp(cfg, batchnorm=True)
    assert sum(isinstance(m, nn.BatchNorm1d) for m in model) == 8


def test_dropout_train_mask_scaling_and_eval_identity():
    x = torch.randn(1000, generator=torch.Generator().manual_seed(0))
    p = 0.3
    out, mask = layers.dropout(x, p, seed=5)
    assert torch.equal(out, x * mask * (1 / (1 - p)))  # torch multiplies by the scale 1/(1-p)
    assert 0.6 < mask.float().mean() < 0.8
    again, mask2 = layers.dropout(x, p, seed=5)
    assert torch.equal(out, again) and torch.equal(mask, mask2)
    # the same seed gives the mask torch's own F.dropout draws
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(5)
        assert torch.equal(F.dropout(x, p, training=True), out)
    other, _ = layers.dropout(x, p, seed=6)
    assert not torch.equal(out, other)
    ev, ev_mask = layers.dropout(x, p, seed=5, train=False)
    assert torch.equal(ev, x) and ev_mask.all()
    zero, zero_mask = layers.dropout(x, 0.0, seed=0)
    assert torch.equal(zero, x) and zero_mask.all()
    with pytest.raises(ValueError):
        layers.dropout(x, 1.0, seed=0)


def test_dropout_does_not_disturb_the_global_generator():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    layers.dropout(torch.ones(10), 0.5, seed=0)
    assert torch.equal(torch.rand(3), expected)


def test_dropout_mean_is_preserved_by_the_scaling():
    x = torch.full((200,), 2.0)
    scaled, unscaled = layers.dropout_means(x, 0.5, seed=0, trials=200)
    assert scaled[-1].item() == pytest.approx(2.0, abs=0.05)
    assert unscaled[-1].item() == pytest.approx(1.0, abs=0.03)


def test_sample_images_and_uploads():
    import io

    from PIL import Image

    from core.data import load_mnist

    images, labels = layers.sample_images("MNIST", 5)
    mnist = load_mnist()
    assert images.shape == (5, 1, 28, 28) and torch.equal(images * 255, mnist.x_test[:5].float())
    assert labels == [str(int(y)) for y in mnist.y_test[:5]]
    cifar, names = layers.sample_images("CIFAR-10", 12)
    assert cifar.shape == (12, 3, 32, 32) and cifar.min() >= 0 and cifar.max() <= 1
    assert names[:3] == ["airplane", "automobile", "bird"]
    buffer = io.BytesIO()
    Image.new("RGB", (300, 150), (255, 0, 0)).save(buffer, "PNG")
    up = layers.decode_upload(buffer.getvalue())
    assert up.shape == (3, 48, 96) and torch.allclose(up[0], torch.ones(48, 96))
    assert layers.decode_upload(buffer.getvalue(), grey=True).shape == (1, 48, 96)
    with pytest.raises(ValueError, match="could not be read as an image"):
        layers.decode_upload(b"\x89PNG broken")
    with pytest.raises(ValueError, match="empty"):
        layers.decode_upload(b"")


def test_activation_stats_summarise_the_layers():
    cfg = DeepMLPConfig(depth=5, width=32, activation="sigmoid", init_std=1.0, batch=64)
    acts = layers.layer_activations(cfg, batchnorm=False)
    stats = layers.activation_stats(cfg, batchnorm=False, bins=20)
    assert stats.counts.shape == (5, 20) and torch.all(stats.counts.sum(1) == 64 * 32)
    assert torch.allclose(stats.std, acts.std(1)) and torch.allclose(stats.mean, acts.mean(1))
    assert stats.edges[0] == 0 and stats.edges[-1] == 1
    saturated = ((acts <= 0.02) | (acts >= 0.98)).float().mean(1)
    assert torch.allclose(stats.saturated, saturated)
