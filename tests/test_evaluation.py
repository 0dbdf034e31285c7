"""core.evaluation: the confusion matrix, per-class accuracy and the most confident mistakes."""


import pytest
import torch

from core import evaluation


@pytest.fixture(scope="module")
def small(mnist):
    return mnist.subset(6000, 2000, seed=0)


def test_confusion_matrix_and_mistakes():
    y = torch.tensor([0, 0, 1, 2, 2, 2])
    pred = torch.tensor([0, 1, 1, 2, 0, 2])
    cm = evaluation.confusion_matrix(y, pred, 3)
    expected = torch.zeros(3, 3, dtype=torch.long)
    for t, p in zip(y, pred, strict=True):
        expected[t, p] += 1
    assert torch.equal(cm, expected)
    assert evaluation.per_class_accuracy(cm).tolist() == pytest.approx([0.5, 1.0, 2 / 3])
    probs = torch.tensor([[0.9, 0.1, 0.0], [0.2, 0.8, 0.0], [0.1, 0.9, 0.0], [0.0, 0.0, 1.0], [0.6, 0.0, 0.4],
                          [0.1, 0.1, 0.8]])
    assert evaluation.confident_mistakes(probs, y).tolist() == [1, 4]  # 0.8 wrong, then 0.6 wrong
