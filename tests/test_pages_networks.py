"""Networks pages through AppTest: the values they show are the values torch computes."""

import pytest

from tests.helpers import decode, metrics, open_page, plotly_specs, rerun, set_widgets, widget

# ---------------------------------------------------------------------------------------------------------------
# 40 Convolution


def test_convolution_defaults_formula_equals_torch(app):
    import torch

    at = open_page(app, "pages/40_convolution.py")
    m = metrics(at)
    assert m["Output size by the formula"] == m["Output size from nn.Conv2d"] == "5"
    assert m["Output shape"] == "1x1x5x5" and m["Parameters"] == "10"
    assert m["Features after flatten"] == "576"
    table = at.dataframe[0].value
    assert list(table["output (C x H x W)"]) == ["3 x 32 x 32", "8 x 28 x 28", "8 x 14 x 14", "16 x 12 x 12",
                                                 "16 x 6 x 6", "576"]
    assert list(table["parameters"])[1] == 3 * 8 * 25 + 8
    # the page's first output cell is torch's conv output
    from core import convolution

    run = convolution.run_conv(convolution.ConvConfig(), seed=0)
    assert any(f"= **{run.y[0, 0, 0, 0].item():g}**" in s.value for s in at.success)
    assert torch.equal(run.y, torch.nn.functional.conv2d(run.x, run.weight, run.bias))


def test_convolution_step_and_groups(app):
    from core import convolution

    at = open_page(app, "pages/40_convolution.py")
    set_widgets(at, cv_size=9, cv_cin=4, cv_cout=4, cv_groups=2, cv_padding=1, cv_dilation=2, cv_stride=2)
    m = metrics(at)
    assert m["Output size by the formula"] == m["Output size from nn.Conv2d"] == "4"
    assert m["Parameters"] == "76"  # 4 x (4/2) x 3 x 3 + 4
    set_widgets(at, cv_pos=5, cv_oc=3)
    cfg = convolution.ConvConfig(9, 4, 4, 3, 2, 1, 2, 2, True)
    step = convolution.conv_step(convolution.run_conv(cfg, 0), 3, 1, 1)
    assert any(f"`conv(x)[0, 3, 1, 1]` = **{step.torch_value:g}**" in s.value for s in at.success)
    assert any("input channels 2, 3 (group 1 of 2)" in md.value for md in at.markdown)
    specs = plotly_specs(at)
    # the input heatmap outlines exactly the k*k cells the kernel reads
    assert len([s for s in specs[0]["layout"]["shapes"] if s.get("line", {}).get("width") == 3]) == 9


@pytest.mark.parametrize("values, message", [
    (dict(cv_size=2, cv_kernel=3), "The output would have size 0 <= 0"),
    (dict(cv_size=5, cv_kernel=3, cv_dilation=3), "spans d(k-1)+1 = 3*(3-1)+1 = 7 cells"),
    (dict(cv_cin=3, cv_groups=2), "in_channels (3) is not divisible by groups (2)"),
    (dict(cv_cin=4, cv_cout=3, cv_groups=2), "out_channels (3) is not divisible by groups (2)"),
])
def test_convolution_invalid_configs_are_explained(app, values, message):
    at = open_page(app, "pages/40_convolution.py")
    set_widgets(at, **values)
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    assert metrics(at)["nn.Conv2d"] == "refuses"
    assert any("What torch says" in md.value for md in at.markdown)
    assert metrics(at)["Features after flatten"] == "576"  # the rest of the page still works


def test_convolution_worked_example_follows_inputs(app):
    at = open_page(app, "pages/40_convolution.py")
    set_widgets(at, cv_ws_size=28, cv_ws_in=1, cv_ws_k1=5, cv_ws_c1=6, cv_ws_k2=5, cv_ws_c2=16)
    assert metrics(at)["Features after flatten"] == "256"  # 16 x 4 x 4
    set_widgets(at, cv_ws_size=8, cv_ws_k1=9)
    assert any("conv1 gets a 8x8 input, too small" in e.value for e in at.error)


# ---------------------------------------------------------------------------------------------------------------
# 41 Filters


def _png(width: int, height: int) -> bytes:
    import io

    import numpy as np
    from PIL import Image

    stripes = (np.arange(width)[None, :] // 10 % 2 * 255).repeat(height, 0).astype("uint8")
    buffer = io.BytesIO()
    Image.fromarray(np.stack([stripes] * 3, -1)).save(buffer, "PNG")
    return buffer.getvalue()


def test_filters_maps_are_the_conv_of_the_mnist_image(app):
    import numpy as np

    from core import filters, images

    at = open_page(app, "pages/41_filters.py")
    m = metrics(at)
    assert m["Output shape"] == "1x6x28x28" and m["Parameters"] == "54"
    samples, labels = images.sample_images("MNIST", 40)
    run = filters.apply_filters(samples[0], ("edge: vertical (Sobel x)", "edge: horizontal (Sobel y)",
                                             "blur: Gaussian", "sharpen", "random", "random"), seed=0)
    maps = plotly_specs(at)[2]
    assert np.allclose(decode(maps["data"][0]["z"]), run.maps[0].numpy(), atol=1e-5)
    assert np.allclose(decode(maps["data"][5]["z"]), run.maps[5].numpy(), atol=1e-5)
    assert maps["layout"]["annotations"][0]["text"].startswith("Sobel x")
    assert any(f"MNIST test image 0: {labels[0]}" in c.value for c in at.caption)


def test_filters_cifar_relu_and_grey(app):
    at = open_page(app, "pages/41_filters.py")
    set_widgets(at, fl_source="CIFAR-10", fl_index=3, fl_relu=True, fl_random=0)
    m = metrics(at)
    assert m["Output shape"] == "1x4x32x32" and m["Parameters"] == str(4 * 3 * 9)
    import numpy as np

    maps = plotly_specs(at)[2]
    assert min(np.min(decode(t["z"])) for t in maps["data"]) >= 0  # ReLU
    set_widgets(at, fl_grey=True)
    assert metrics(at)["Parameters"] == str(4 * 1 * 9)
    set_widgets(at, fl_filters=[])
    assert any("Pick at least one kernel" in e.value for e in at.error)


def test_filters_upload_is_shrunk_and_bad_files_explained(app):
    at = open_page(app, "pages/41_filters.py")
    set_widgets(at, fl_source="Upload")
    assert any("Upload an image" in i.value for i in at.info)
    at.file_uploader(key="fl_upload").set_value(("stripes.png", _png(192, 96), "image/png"))
    at.run()
    assert not at.exception
    assert metrics(at)["Output shape"] == "1x6x48x96"
    at.file_uploader(key="fl_upload").set_value(("broken.png", b"not an image at all", "image/png"))
    at.run()
    # the name is shown literally: its Markdown characters are escaped
    assert any("broken\\.png: This file could not be read as an image" in e.value for e in at.error)


# ---------------------------------------------------------------------------------------------------------------
# 42 Pooling


def test_pooling_grid_and_real_image(app):
    import torch
    import torch.nn.functional as F

    from core import images

    at = open_page(app, "pages/42_pooling.py")
    m = metrics(at)
    assert m["Input"] == "1x28x28" and m["Output"] == "1x14x14" and m["Values kept"] == "25.0%"
    grid = torch.randint(0, 10, (6, 6), generator=torch.Generator().manual_seed(0)).float()
    specs = plotly_specs(at)
    assert (decode(specs[1]["data"][0]["z"]) == F.max_pool2d(grid[None, None], 2)[0, 0].numpy()).all()
    assert (decode(specs[2]["data"][0]["z"]) == F.avg_pool2d(grid[None, None], 2)[0, 0].numpy()).all()
    assert len(specs[0]["layout"]["shapes"]) == 9  # one winner per window
    samples, _ = images.sample_images("MNIST", 1)
    pooled = F.max_pool2d(samples[:1], 2)[0]
    back = F.interpolate(pooled[None], scale_factor=2.0, mode="nearest")[0]
    assert m["Error vs the original (nearest)"] == f"{float(((back - samples[0]) ** 2).mean()):.4f}"


def test_pooling_adaptive_and_invalid(app):
    from core import pooling

    at = open_page(app, "pages/42_pooling.py")
    set_widgets(at, pl_source="CIFAR-10", pl_kind="adaptive avg", pl_index=7)
    set_widgets(at, pl_out=5)  # enabled once the pooling is adaptive
    m = metrics(at)
    assert m["Input"] == "3x32x32" and m["Output"] == "3x5x5"
    sizes = sorted({b - a for a, b in pooling.adaptive_windows(32, 5)})
    assert any(f"windows of {' or '.join(map(str, sizes))} rows" in md.value for md in at.markdown)
    set_widgets(at, pl_kind="max")
    set_widgets(at, pl_kernel=2, pl_padding=3)
    assert any("padding (3) must be at most half the kernel" in e.value for e in at.error)
    set_widgets(at, pl_kernel=8, pl_padding=0, pl_stride=8)
    assert metrics(at)["Output"] == "3x4x4"


# ---------------------------------------------------------------------------------------------------------------
# 43 BatchNorm


def test_batchnorm_buffers_and_modes(app):
    from core import batchnorm

    at = open_page(app, "pages/43_batchnorm.py")
    m = metrics(at)
    assert m["train mode: mean"] in ("0.0000", "-0.0000") and m["train mode: std"] == "1.0000"
    run = batchnorm.batchnorm_run(batchnorm.BatchNormConfig(features=3, batch=16, steps=10, momentum=0.1, mean=5.0,
                                                            std=2.0, seed=0))
    assert m["eval mode: mean"] == f"{float(run.eval_out[:, 0].mean()):.4f}"
    table = at.dataframe[0].value
    assert list(table["running_mean (torch)"]) == run.running_mean[-1].tolist()
    assert (abs(table["running_mean (torch)"] - table["running_mean (update rule)"]) < 1e-4).all()
    assert any("matches torch's buffers" in c.value for c in at.caption)
    set_widgets(at, bn_momentum="None", bn_steps=40, bn_feature=2)
    run = batchnorm.batchnorm_run(batchnorm.BatchNormConfig(features=3, batch=16, steps=40, momentum=None, mean=5.0,
                                                            std=2.0, seed=0))
    assert metrics(at)["eval mode: mean"] == f"{float(run.eval_out[:, 2].mean()):.4f}"
    assert abs(float(run.eval_out[:, 2].mean())) < 0.5  # a cumulative average over 40 batches is close


def test_batchnorm_deep_network(app):
    from core import batchnorm

    at = open_page(app, "pages/43_batchnorm.py")
    cfg = batchnorm.DeepMLPConfig(depth=10, width=256, activation="tanh", init_std=0.02, batch=512, seed=0)
    plain, normed = batchnorm.activation_stats(cfg, False), batchnorm.activation_stats(cfg, True)
    m = metrics(at)
    assert m["Std at layer 10, without BN"] == f"{float(plain.std[-1]):.2e}"
    assert m["Std at layer 10, with BN"] == f"{float(normed.std[-1]):.3f}"
    assert float(plain.std[-1]) < 1e-3 < 0.3 < float(normed.std[-1])
    set_widgets(at, bn_depth=4, bn_act="sigmoid", bn_init=1.0)
    m = metrics(at)
    assert "Std at layer 4, with BN" in m and "Saturated units at layer 4 without BN" in m
    assert widget(at, "bn_layer").value == 4


# ---------------------------------------------------------------------------------------------------------------
# 44 Dropout


def test_dropout_mask_scaling_and_eval(app):
    import torch

    from core import dropout

    at = open_page(app, "pages/44_dropout.py")
    x = torch.arange(48, dtype=torch.float32).view(6, 8)
    out, mask = dropout.dropout(x, 0.5, seed=0)
    m = metrics(at)
    assert m["Kept"] == f"{int(mask.sum())} of 48" and m["Scale of the kept"] == "2"
    assert m["mean(output)"] == f"{float(out.mean()):.4f}"
    assert any("checked cell by cell, exactly" in s.value for s in at.success)
    grids = plotly_specs(at)[0]
    assert (decode(grids["data"][1]["z"]) == mask.float().numpy()).all()
    assert (decode(grids["data"][2]["z"]) == out.numpy()).all()
    scaled, unscaled = dropout.dropout_means(x, 0.5, seed=0, trials=200)
    assert m["Average over 200 draws, scaled"] == f"{float(scaled[-1]):.4f}"
    assert abs(float(scaled[-1]) - 23.5) < 1.0 and abs(float(unscaled[-1]) - 11.75) < 0.5
    set_widgets(at, dr_train=False)
    assert any("eval mode: the output is the input, unchanged (torch.equal(out, x) is True)" in s.value
               for s in at.success)
    assert metrics(at)["mean(output)"] == "23.5000"
    set_widgets(at, dr_train=True, dr_p=0.8, dr_seed=3)
    out, mask = dropout.dropout(x, 0.8, seed=3)
    assert metrics(at)["Kept"] == f"{int(mask.sum())} of 48" and metrics(at)["Scale of the kept"] == "5"


# ---------------------------------------------------------------------------------------------------------------
# 45 Architectures

TORCHVISION_PARAMS = {"AlexNet": 61_100_840, "VGG-11": 132_863_336, "VGG-16": 138_357_544,
                      "GoogLeNet": 6_624_904, "ResNet-18": 11_689_512, "DenseNet-121": 7_978_856}


def test_architectures_counts_match_torchvision(app):
    at = open_page(app, "pages/45_architectures.py")
    for name, params in TORCHVISION_PARAMS.items():
        set_widgets(at, ar_arch=name)
        m = metrics(at)
        assert m["Parameters"] == m["torchvision documents"] == f"{params:,}", name
        table = at.dataframe[0].value
        assert int(table["parameters"].sum()) == params
        assert len(at.get("graphviz_chart")) == 1
    bubbles = plotly_specs(at)[1]
    assert sorted(t["name"] for t in bubbles["data"]) == sorted(["LeNet-5", *TORCHVISION_PARAMS])
    resnet = next(t for t in bubbles["data"] if t["name"] == "ResNet-18")
    assert abs(resnet["y"][0] - 11.689512) < 1e-6 and abs(resnet["x"][0] - 1.814) < 0.001


def test_architectures_resnet_table_and_lenet(app):
    at = open_page(app, "pages/45_architectures.py")
    m = metrics(at)
    assert m["Multiply-accumulates"] == "1.814 G" and (m["Input"], m["Output"]) == ("3x224x224", "1,000")
    table = at.dataframe[0].value
    assert list(table["layer"])[:5] == ["conv1", "bn1", "relu", "maxpool", "layer1.0"]
    assert dict(zip(table["layer"], table["output shape"], strict=True))["layer4.1"] == "512 x 7 x 7"
    dot = at.get("graphviz_chart")[0].proto.spec
    assert "64x56x56" in dot and "shortcut" in dot
    set_widgets(at, ar_detail="every layer")
    assert len(at.dataframe[0].value) == 60
    set_widgets(at, ar_arch="LeNet-5")
    assert metrics(at)["Parameters"] == "61,706" and metrics(at)["From"] == "core.models"


# ---------------------------------------------------------------------------------------------------------------
# 46 nn.Module anatomy


def test_module_anatomy_three_builds_agree(app):
    at = open_page(app, "pages/46_module_anatomy.py")
    m = metrics(at)
    assert m["Parameters (each build)"] == f"{20 * 25 + 20 + 64 * 20 * 25 + 64:,}"
    assert m["Output shape"] == "1x64x8x8"
    assert m["Max |Sequential - subclass|"] == m["Max |OrderedDict - subclass|"] == "0"
    keys = at.dataframe[0].value
    assert list(keys["Sequential"]) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert list(keys["Sequential(OrderedDict)"]) == ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias"]
    assert list(at.dataframe[1].value["name"]) == ["conv1", "relu1", "conv2", "relu2"]  # children
    assert list(at.dataframe[2].value["name"])[0] == "(the model)"  # modules() starts with the model
    assert m["returned object is the model"] == "True" and m["after model.to(torch.float64)"] == "float64"
    assert m["Max |loaded - original| output"] == "0"
    assert any("Missing key(s) in state_dict" in c.value for c in at.code)
    assert m["train and eval outputs equal?"] == m["eval: two passes equal?"] == "True"  # no dropout yet


def test_module_anatomy_dropout_and_subclass(app):
    at = open_page(app, "pages/46_module_anatomy.py")
    set_widgets(at, an_dropout=0.5, an_build="subclass")
    m = metrics(at)
    assert m["train: two passes equal?"] == "False" and m["eval: two passes equal?"] == "True"
    assert list(at.dataframe[0].value["Sequential"])[2] == "3.weight"  # dropout shifted conv2 to index 3
    assert list(at.dataframe[1].value["name"]) == ["conv1", "drop", "conv2"]  # F.relu is no child
    set_widgets(at, an_size=8, an_kernel=5)
    assert any("too small for two 5x5 convolutions" in e.value for e in at.error)


# ---------------------------------------------------------------------------------------------------------------
# 48 Overfitting


def test_overfitting_degree_penalty_and_kfold(app):
    import numpy as np

    from core import regularization

    at = open_page(app, "pages/48_overfitting.py")
    pts = regularization.make_points(regularization.PolyData(n_train=15, n_val=50, noise=0.3, seed=0))
    curve = regularization.degree_curve(pts, 15)
    m = metrics(at)
    assert m["Training MSE"] == f"{curve.train_mse[3]:.4f}" and m["Validation MSE"] == f"{curve.val_mse[3]:.4g}"
    assert m["Best degree (validation)"] == str(int(np.argmin(curve.val_mse)))
    plain = regularization.fit(pts.x_train, pts.y_train, 12)
    ridge = regularization.fit(pts.x_train, pts.y_train, 12, weight_decay=1e-3)
    assert m["Validation MSE, no penalty"] == f"{regularization.mse(pts.x_val, pts.y_val, plain):.4g}"
    assert m["... with λ = 0.001"] == f"{regularization.mse(pts.x_val, pts.y_val, ridge):.4g}"
    folds = regularization.kfold_assignment(15, 5, seed=0)
    errors = regularization.kfold_errors(pts.x_train, pts.y_train, 3, folds)
    assert m["K-fold mean MSE, degree 3"] == f"{np.mean(errors):.4g}"
    assert m["Degree K-fold picks"] == str(int(np.argmin(regularization.kfold_curve(pts.x_train, pts.y_train, folds, 15))))
    grid = next(s for s in plotly_specs(at) if s["data"][0].get("y", [None])[0] == "round 1")
    z = decode(grid["data"][0]["z"])
    assert z.shape == (5, 15) and (z.sum(0) == 1).all()  # every point held out exactly once
    set_widgets(at, of_degree=14)
    assert metrics(at)["Verdict"] == "overfitting" and float(metrics(at)["Training MSE"]) < 1e-3
    set_widgets(at, of_degree=0)
    assert metrics(at)["Verdict"] == "underfitting"


def test_overfitting_early_stopping_and_l1(app):
    from core import regularization

    at = open_page(app, "pages/48_overfitting.py")
    set_widgets(at, of_steps=600, of_patience=50)
    pts = regularization.make_points(regularization.PolyData(n_train=15, n_val=50, noise=0.3, seed=0))
    run = regularization.train_gd(pts, regularization.GDConfig(degree=12, lr=0.05, steps=600, patience=50))
    m = metrics(at)
    assert m["Early stopping halts at"] == f"step {run.stop_step}"
    assert m["Kept weights: validation MSE"] == f"{run.val_loss[run.early_step]:.4f}"
    assert m["After all steps: validation MSE"] == f"{run.val_loss[-1]:.4f}"
    set_widgets(at, of_penalty="L1 (added to the loss)", of_decay=0.01)
    l1_cfg = regularization.GDConfig(degree=12, lr=0.05, steps=2000, l1=0.01, patience=10**9)
    l1 = regularization.train_gd(pts, l1_cfg).coef.double()
    assert metrics(at)["... with λ = 0.01"] == f"{regularization.mse(pts.x_val, pts.y_val, l1):.4g}"


# ---------------------------------------------------------------------------------------------------------------
# 47 Inside a trained network


def test_inside_network_trains_a_model_on_the_spot(app):
    import numpy as np
    import torch
    import torch.nn.functional as F

    from core.batches import normalize
    from core.datasets import load_shared

    at = open_page(app, "pages/47_inside_network.py")
    mnist = load_shared("mnist")
    m = metrics(at)
    assert m["True class"] == str(int(mnist.y_test[0]))
    assert float(m["Test accuracy of the model"].rstrip("%")) > 90
    specs = plotly_specs(at)
    probs = decode(specs[1]["data"][0]["x"])
    assert abs(probs.sum() - 1) < 1e-5 and m["Predicted"] == str(int(probs.argmax()))
    filters = specs[2]
    assert len(filters["data"]) == 8 and decode(filters["data"][0]["z"]).shape == (5, 5)
    assert any("features.0" in md.value and "8 channels of 24x24" in md.value for md in at.markdown)
    assert any("features.3" in md.value and "16 channels of 10x10" in md.value for md in at.markdown)
    # the first feature map is the image convolved with the first filter, plus a constant (the bias)
    x = normalize(mnist.x_test[:1], mnist.mean, mnist.std)
    w = torch.tensor(np.stack([decode(t["z"]) for t in filters["data"]]), dtype=torch.float32)[:, None]
    conv = F.conv2d(x, w)[0]
    first_map = torch.tensor(decode(specs[3]["data"][0]["z"]), dtype=torch.float32)
    offset = first_map - conv[0]
    assert torch.allclose(offset, offset.mean().expand_as(offset), atol=1e-4)
    set_widgets(at, in_index=8, in_maps=4)
    assert metrics(at)["True class"] == str(int(mnist.y_test[8]))
    assert len(plotly_specs(at)[4]["data"]) == 4  # conv2 shows the first 4 of its 16 channels


def test_inside_network_uses_the_training_studio_model(app):
    import torch

    from core import inspection, models
    from core.batches import normalize
    from core.datasets import load_shared

    data = load_shared("mnist").subset(200, 50, seed=0)
    cfg = models.ModelConfig("lenet5", in_channels=1, image_size=28)
    model = models.build_model(cfg, seed=3)
    mlp_cfg = models.ModelConfig("mlp")
    mlp = models.build_model(mlp_cfg, seed=1)
    from core.runs import RunHistory

    at = open_page(app, "pages/00_home.py")
    history = RunHistory(next_id=7)  # two runs of the session, as uploaded weights (their accuracy is known)
    history.add_uploaded("MNIST", data, cfg, model, "lenet.pt", 0.5)
    history.add_uploaded("MNIST", data, mlp_cfg, mlp, "mlp.pt", 0.25)
    history.active_id = 7
    at.session_state["ts_history"] = history
    at = open_page(at, "pages/47_inside_network.py")
    assert "run #7" in widget(at, "in_model").format_func(7)
    m = metrics(at)
    assert m["Test accuracy of the model"] == "50.0%"
    seen = inspection.inspect(model, normalize(data.x_test[:1], data.mean, data.std))
    assert m["Predicted"] == str(int(seen.probs.argmax()))
    assert [o.shape for _, o in seen.layers] == [torch.Size([6, 28, 28]), torch.Size([16, 10, 10])]
    assert model.training  # the session's model is left in the mode it was in
    set_widgets(at, in_model=8)
    assert metrics(at)["Test accuracy of the model"] == "25.0%"
    assert any("no convolution layers" in i.value for i in at.info)
    assert decode(plotly_specs(at)[2]["data"][0]["z"]).shape == (28, 28)  # an MLP unit's template


# ---------------------------------------------------------------------------------------------------------------
# The figure builders write plain dicts: plotly itself must accept every one of them


def test_every_figure_builder_makes_a_valid_plotly_figure():
    import plotly.graph_objects as go
    import torch

    from core import architectures, batchnorm, convolution, regularization
    from ui import figures_architectures, figures_batchnorm, figures_networks, figures_overfitting

    run = convolution.run_conv(convolution.ConvConfig(size=5, padding=1), seed=0)
    bn = batchnorm.batchnorm_run(batchnorm.BatchNormConfig(steps=3))
    stats = batchnorm.activation_stats(batchnorm.DeepMLPConfig(depth=3, width=16, batch=8), batchnorm=True)
    pts = regularization.make_points(regularization.PolyData())
    grid = torch.linspace(-1, 1, 20, dtype=torch.float64)
    coef = regularization.fit(pts.x_train, pts.y_train, 3)
    figures = [
        figures_networks.grid(torch.arange(6.0).view(2, 3), title="g", highlight=[(0, 1)]),
        figures_networks.conv_input(convolution.padded_input(run, 0), 5, 1, [(0, 0), (1, 1)], title="in"),
        figures_networks.dot_product([[1, 2], [3, 4]], [[1, -1], [0, 1]], [[1, -2], [0, 4]], titles=("a", "b", "c"),
                                     height=200),
        figures_networks.image(torch.rand(1, 8, 8)), figures_networks.image(torch.rand(3, 8, 8), title="rgb"),
        figures_networks.maps(torch.randn(5, 6, 6), list("abcde"), cols=3),
        figures_networks.maps(torch.rand(2, 4, 4), ["a", "b"], diverging=False),
        figures_batchnorm.running_stats(bn, 0), figures_batchnorm.train_vs_eval(bn, 1),
        figures_batchnorm.activation_density(stats.edges, stats.counts, title="d"),
        figures_networks.lines([1, 2, 3], {"a": [1, 2, 3], "b": [3, 2, 1]}, x_title="x", y_title="y", log_y=True,
                               title="t"),
        figures_batchnorm.histogram_pair(stats.edges, stats.counts[0], stats.counts[1], ("a", "b"), title="h"),
        figures_networks.dropout_grids(torch.ones(2, 3), torch.tensor([[True, False, True], [False, True, True]]),
                                       torch.tensor([[2.0, 0, 2], [0, 2, 2]]), p=0.5),
        figures_architectures.architecture_bubbles([architectures.summarize("LeNet-5"),
                                                    architectures.summarize("AlexNet", depth=1)], "LeNet-5"),
        figures_architectures.params_by_kind(architectures.summarize("LeNet-5", depth=None).rows),
        figures_overfitting.poly_fit(pts, grid, {"fit": regularization.predict(grid, coef)}, regularization.target(grid)),
        figures_overfitting.error_curves([0, 1, 2], {"train": [1e-30, 0.5, 0.2], "val": [1.0, 0.5, 3.0]},
                                         x_title="deg", marks={"a": 1, "b": 2}),
        figures_overfitting.coefficients({"a": coef, "b": coef / 2}),
        figures_overfitting.coefficient_paths([1e-3, 1e-2], torch.randn(2, 4), 1e-3),
        figures_overfitting.kfold_grid(regularization.kfold_assignment(10, 3), 3),
        figures_overfitting.fold_errors([0.1, 0.2, 0.3]),
        figures_networks.rgb_tiles(torch.randn(3, 3, 5, 5), ["a", "b", "c"]),
        figures_networks.probabilities(torch.tensor([0.1, 0.7, 0.2]), ["x", "y", "z"], true_index=2),
    ]
    for fig in figures:
        spec = fig.to_dict()
        checked = go.Figure(spec)  # plotly validates every property here and raises on a bad one
        assert checked.to_dict()["data"], spec["layout"].get("title")
        assert spec["layout"]["template"]["layout"]["plot_bgcolor"] == "white"  # ui.plots.style's look


def test_convolution_takes_classic_sizes_and_shows_weight_sharing(app):
    at = open_page(app, "pages/40_convolution.py")
    for key, value in (("cv_size", 48), ("cv_cin", 64), ("cv_cout", 128), ("cv_padding", 1)):
        at.session_state[key] = value
    rerun(at)
    m = metrics(at)
    assert m["Output size from nn.Conv2d"] == "48" and m["Parameters"] == f"{64 * 128 * 9 + 128:,}" == "73,856"
    assert m["Output shape"] == "1x128x48x48"
    from core import convolution

    why = convolution.why_conv(32, 3, 5, 8)
    assert why.conv_params == 8 * 3 * 25 + 8 and why.outputs == 8 * 28 * 28
    assert why.fc_params == 3 * 32 * 32 * why.outputs + why.outputs and why.functional_gap < 1e-6
    assert m["conv1's parameters"] == f"{why.conv_params:,}" and m["fully connected, same outputs"] == f"{why.fc_params:,}"


def test_anatomy_linear_arithmetic(app):
    import torch

    at = open_page(app, "pages/46_module_anatomy.py")
    m = metrics(at)
    assert m["layer.weight.shape"] == "512x784" and m["y = layer(x)"] == "4x512"
    assert float(m["max |y − (x @ W.T + b)|"]) < 1e-5 and m["parameters"] == f"{784 * 512 + 512:,}"
    text = " ".join(md.value for md in at.markdown)
    try:
        torch.zeros(4, 784) @ torch.zeros(512, 784)
    except RuntimeError as exc:
        assert str(exc).splitlines()[0] in text  # torch's own words for the missing transpose
    set_widgets(at, an_lin=6, an_lout=6)
    assert "runs but computes something else" in " ".join(md.value for md in at.markdown)
