"""core.block_diagrams: the key block of each architecture drawn with the shapes a forward pass produces."""

import pytest

from core import block_diagrams


@pytest.mark.parametrize("name, expect", [
    ("ResNet-18", ["64x56x56", "conv 3x3 /2, 128", "conv 1x1 /2, 128", "shortcut", "+"]),
    ("GoogLeNet", ["192x28x28", "conv 1x1, 64", "max-pool 3x3", "output\\n256x28x28"]),
    ("DenseNet-121", ["x0\\n64x56x56", "in 128 ch", "conv 3x3, 32", "concatenate x0..x3\\n160x56x56"]),
    ("VGG-16", ["stage 3: 3 x (conv 3x3, 256 + ReLU)", "512x7x7", "4096 -> 4096 -> 1000"]),
    ("AlexNet", ["conv 11x11 /4, 64 + ReLU", "linear 4096->1000"]),
])
def test_block_diagrams_name_the_real_shapes(name, expect):
    dot = block_diagrams.block_diagram(name)
    assert dot.startswith("digraph")
    for text in expect:
        assert text in dot, text


def test_lenet_diagram_folds_activations_into_their_layer():
    assert "max-pool 2x2 + flatten\\n400" in block_diagrams.block_diagram("LeNet-5")
