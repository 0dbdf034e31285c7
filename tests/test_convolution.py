"""core.convolution against torch itself: the size formula, parameter counts, each output cell's dot product, the
worked example's layer table, and the code the lesson shows."""

import random

import pytest
import torch

from core import convolution
from core.convolution import ConvConfig
from tests.helpers import run_panel, same_output


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
        problem = convolution.conv_problem(cfg)
        if problem is None:
            conv = convolution.build_conv(cfg)
            y = conv(torch.zeros(1, cfg.in_channels, cfg.size, cfg.size))
            out = convolution.conv_output_size(cfg.size, cfg.kernel, cfg.stride, cfg.padding, cfg.dilation)
            assert y.shape == (1, cfg.out_channels, out, out), cfg
            assert convolution.conv_param_count(cfg) == sum(p.numel() for p in conv.parameters())
            valid += 1
        else:
            # torch refuses it too: either when building the layer or when running it
            with pytest.raises((ValueError, RuntimeError)):
                convolution.build_conv(cfg)(torch.zeros(1, cfg.in_channels, cfg.size, cfg.size))
            invalid += 1
    assert valid > 100 and invalid > 50


def test_invalid_messages_name_the_rule():
    msg = convolution.conv_problem(ConvConfig(size=2, kernel=3))
    assert "<= 0" in msg and "d(k-1)+1" in msg
    msg = convolution.conv_problem(ConvConfig(size=5, kernel=3, dilation=3))
    assert "spans" in msg and "= 7" in msg
    msg = convolution.conv_problem(ConvConfig(in_channels=3, out_channels=4, groups=2))
    assert "in_channels (3) is not divisible by groups (2)" in msg and "[1]" in msg
    msg = convolution.conv_problem(ConvConfig(in_channels=4, out_channels=3, groups=2))
    assert "out_channels (3) is not divisible by groups (2)" in msg
    assert convolution.conv_problem(ConvConfig()) is None


def test_seed_worked_shapes():
    # 32x32x3 -> conv5 -> 28x28x8 -> pool -> 14x14x8 -> conv3 -> 12x12x16 -> pool -> 6x6x16 = 576
    assert convolution.conv_output_size(32, 5) == 28
    assert convolution.conv_output_size(28, 2, stride=2) == 14
    assert convolution.conv_output_size(14, 3) == 12
    assert convolution.conv_output_size(12, 2, stride=2) == 6
    assert 6 * 6 * 16 == 576
    assert convolution.conv_param_count(ConvConfig(in_channels=3, out_channels=8, kernel=5)) == 3 * 8 * 25 + 8


@pytest.mark.parametrize("cfg", [ConvConfig(), ConvConfig(size=6, in_channels=4, out_channels=2, kernel=3, stride=2,
                                                          padding=1, dilation=2, groups=2),
                                 ConvConfig(size=5, in_channels=3, out_channels=3, kernel=2, groups=3, bias=False)])
def test_step_dot_product_equals_conv_output_everywhere(cfg):
    run = convolution.run_conv(cfg, seed=3)
    assert run.y.shape[-1] == run.formula_size
    assert run.params == convolution.conv_param_count(cfg)
    for oc in range(cfg.out_channels):
        for i in range(run.formula_size):
            for j in range(run.formula_size):
                step = convolution.conv_step(run, oc, i, j)
                assert step.total == pytest.approx(step.torch_value, abs=1e-5)
                assert len(step.terms) == cfg.kernel ** 2 * cfg.in_channels // cfg.groups
                assert {t.in_channel for t in step.terms} == set(convolution.input_channels_of(cfg, oc))


def test_receptive_mask_marks_dilated_kernel_cells():
    cfg = ConvConfig(size=7, kernel=3, stride=2, padding=1, dilation=2)
    mask = convolution.receptive_mask(cfg, 1, 0)
    assert mask.shape == (9, 9) and mask.sum() == 9
    assert torch.nonzero(mask)[:, 0].unique().tolist() == [2, 4, 6]
    assert torch.nonzero(mask)[:, 1].unique().tolist() == [0, 2, 4]


def test_shape_plan_and_walk_agree_with_the_layers():
    plan = convolution.shape_plan(32, 5, 8, 3, 16)
    assert [(p.name, p.size_out) for p in plan] == [("conv1", 28), ("pool1", 14), ("conv2", 12), ("pool2", 6)]
    assert plan[1].formula == "floor((28 - 2) / 2) + 1 = 14" and plan[0].formula == "32 - 5 + 1 = 28"
    rows = convolution.walk(32, 3, 5, 8, 3, 16)
    assert [r.output_shape for r in rows] == [(8, 28, 28), (8, 28, 28), (8, 14, 14), (16, 12, 12), (16, 12, 12),
                                             (16, 6, 6), (576,)]
    assert rows[0].params == 3 * 8 * 25 + 8 and rows[3].params == 8 * 16 * 9 + 16
    bad = convolution.shape_plan(8, 9, 8, 3, 16)
    assert len(bad) == 1 and bad[0].size_out == 0


def _checked(code: str) -> int:
    results = run_panel(code)
    assert results and all(same_output(printed, expected) for _, printed, expected in results), results
    return len(results)


@pytest.mark.parametrize("cfg, cell", [(ConvConfig(), (0, 2, 3)),
                                       (ConvConfig(9, 4, 4, 3, 2, 1, 2, 2, True), (3, 1, 1)),
                                       (ConvConfig(6, 3, 3, 2, 1, 1, 1, 3, False), (2, 4, 0))])
def test_conv_code_prints_what_the_run_computed(cfg, cell):
    run = convolution.run_conv(cfg, seed=4)
    step = convolution.conv_step(run, *cell)
    assert _checked(convolution.conv_code(run, 4, step)) == 3
    walk_plan = convolution.shape_plan(28, 5, 6, 5, 16)
    assert _checked(convolution.walk_code(28, 1, walk_plan, convolution.walk(28, 1, 5, 6, 5, 16))) == 3


def test_conv_error_code_ends_where_torch_refuses():
    cfg = ConvConfig(size=2, kernel=3)
    code = convolution.conv_error_code(cfg, 0)
    assert code.rstrip().endswith(convolution.torch_error(cfg).split("\n")[0])
    with pytest.raises(RuntimeError):
        run_panel(code)
