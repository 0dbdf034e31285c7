"""core.saliency: the saliency map is autograd's input gradient, Grad-CAM equals a manual computation with hooks,
an MLP gets a clear "no conv layer" answer, occlusion over nothing important changes nothing on a handcrafted
model; the model's mode and gradients are left as they were; the code panel reproduces the numbers."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from core import saliency
from core.models import ModelConfig, build_model, default_config
from core.quick_train import QuickConfig, quick_train
from core.training import TrainConfig, make_optimizer
from tests.helpers import run_panel, same_output


def _cnn() -> nn.Sequential:
    g = torch.Generator().manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Conv2d(4, 6, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                        nn.Linear(6 * 5 * 5, 10))
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.3)
    return net


def test_saliency_is_the_input_gradient():
    model = build_model(ModelConfig("mlp", hidden=(16,)), seed=0)
    image = torch.randn(1, 28, 28, generator=torch.Generator().manual_seed(1))
    s = saliency.saliency(model, image, target=3)
    assert all(p.grad is None for p in model.parameters())  # the learner's gradients untouched
    x = image[None].clone().requires_grad_(True)
    model(x)[0, 3].backward()
    assert torch.equal(s.grad, x.grad[0]) and torch.equal(s.map, x.grad[0].abs().amax(0)) and s.target == 3
    assert saliency.saliency(model, image).target == int(model(image[None]).argmax())
    colour = saliency.saliency(_cnn3(), torch.randn(3, 12, 12, generator=torch.Generator().manual_seed(2)))
    assert colour.grad.shape == (3, 12, 12) and colour.map.shape == (12, 12)


def _cnn3() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 10 * 10, 4))


def test_grad_cam_equals_a_manual_computation_with_hooks():
    net = _cnn()
    image = torch.randn(1, 14, 14, generator=torch.Generator().manual_seed(3))
    cam = saliency.grad_cam(net, image, target=2)
    assert cam.available and cam.layer == "3 (ReLU)" and cam.target == 2  # the last conv's output, after its ReLU
    kept = {}
    net[3].register_forward_hook(lambda m, i, out: kept.update(a=out))
    net[3].register_full_backward_hook(lambda m, gin, gout: kept.update(g=gout[0]))
    net(image[None])[0, 2].backward()
    alpha = kept["g"][0].mean(dim=(1, 2))  # (6,)
    manual = F.relu((alpha[:, None, None] * kept["a"][0]).sum(0)).detach()  # (10, 10)
    assert torch.allclose(cam.weights, alpha) and torch.allclose(cam.cam, manual, atol=1e-6)
    up = F.interpolate(manual[None, None], size=(14, 14), mode="bilinear", align_corners=False)[0, 0]
    assert torch.allclose(cam.map, up / up.max(), atol=1e-6) and cam.map.max() == 1.0
    assert saliency.grad_cam(net, image, target=2, layer="0").layer == "0 (Conv2d)"


def test_grad_cam_layers_of_the_project_nets_and_mlp():
    image = torch.randn(1, 28, 28, generator=torch.Generator().manual_seed(4))
    assert saliency.grad_cam(build_model(ModelConfig("cnnnet", 1, 28)), image).layer == "features.4 (ReLU)"
    resnet = saliency.grad_cam(build_model(default_config("resnet", 1, 28)), image)
    assert resnet.layer == "layer3.relu2 (ReLU)" and resnet.map.shape == (28, 28)  # after the skip is added
    mlp = saliency.grad_cam(build_model(ModelConfig("mlp")), image)
    assert not mlp.available and "no convolutional layer" in mlp.reason and mlp.map.shape == (28, 28)


def test_occlusion_over_nothing_important_changes_little():
    # a handcrafted model: class 1's logit is the sum of the top-left 6 x 6 pixels, class 0's is 0
    model = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 2))
    with torch.no_grad():
        model[1].weight.zero_()
        model[1].bias.zero_()
        model[1].weight[1].view(28, 28)[:6, :6] = 1.0
    image = torch.ones(1, 28, 28)
    occ = saliency.occlusion(model, image, patch=6, stride=2)
    assert occ.target == 1 and occ.prob == pytest.approx(torch.sigmoid(torch.tensor(36.0)).item())
    assert saliency.positions(28, 6, 2)[-1] == 22 and occ.drops.shape == (12, 12) and occ.map.shape == (28, 28)
    assert occ.map[14:, 14:].abs().max() < 1e-6  # patches far from the top-left corner change nothing
    assert occ.drops[0, 0] == pytest.approx(occ.prob - 0.5, abs=1e-6)  # covering all of it: a coin toss
    assert occ.map[0, 0] > 0.4 and occ.map.argmax() == 0


def test_modes_are_restored(mnist):
    model = build_model(ModelConfig("cnnnet", 1, 28, dropout=0.5), seed=0)
    model.train()
    model.classifier.eval()  # a mixed state comes back as it was
    image, _ = saliency.pick_image(mnist, 0)
    for fn in (saliency.saliency, saliency.grad_cam, saliency.occlusion):
        fn(model, image)
        assert model.training and model.features.training and not model.classifier.training


def test_code_panel(mnist):
    data = mnist.subset(1000, 50, seed=0)
    model_cfg, train_cfg = ModelConfig("cnnnet", 1, 28), TrainConfig("adam", lr=2e-3)
    quick = QuickConfig(steps=20, batch_size=32)
    model = build_model(model_cfg, seed=quick.seed)
    quick_train(model, make_optimizer(model.parameters(), train_cfg), data, quick)
    image, _ = saliency.pick_image(data, 7)
    sal, cam, occ = saliency.saliency(model, image), saliency.grad_cam(model, image), saliency.occlusion(model, image)
    code = saliency.saliency_code("mnist", model_cfg, train_cfg, quick, 7, sal, cam, occ).replace(
        "data = load_mnist()", "data = load_mnist().subset(1000, 50, seed=0)")
    results = run_panel(code)
    assert len(results) == 4 and all(same_output(p, e) for _, p, e in results), results
