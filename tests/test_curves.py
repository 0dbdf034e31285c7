"""core.curves: how the Functions & gradients code panels write numbers, and what print shows."""

import torch

from core.curves import floats, num, printed


def test_numbers_in_generated_code():
    assert num(0.1) == "0.1" and num(2.0) == "2" and num(1 / 3) == "0.333333"
    assert floats([2.0, 1.0, 0.1, 1e4, -3.0, 1e20]) == "2.0, 1.0, 0.1, 10000.0, -3.0, 1e+20"
    assert eval(f"torch.tensor([{floats([1.0, -1.0])}])").dtype == torch.float32  # our own text, not user input


def test_printed_is_what_print_shows_on_one_line():
    assert printed(torch.tensor([[1.0], [2.0]])) == "tensor([[1.], [2.]])"
    assert printed(0.5, "a", True) == "0.5 a True"
