"""core.tensor_common: the helpers every tensor lesson shares."""

import pytest
import torch

from core.parsing import InputError
from core.tensor_common import (
    check_numel,
    compare,
    fmt_shape,
    free_tensor,
    printed,
    source_ids,
    torch_message,
)


def test_fmt_shape_reads_like_a_python_tuple():
    assert fmt_shape(torch.Size([4, 32])) == "(4, 32)"
    assert fmt_shape((5,)) == "(5,)" and fmt_shape(()) == "()"


def test_check_numel_refuses_big_and_negative_sizes():
    check_numel((1000, 1000))
    with pytest.raises(InputError, match="at most 1,000,000"):
        check_numel((1001, 1000))
    with pytest.raises(InputError, match="negative"):
        check_numel((3, -1))


def test_printed_is_print_on_one_line():
    t = torch.tensor([[1.5, 2.0], [3.0, 4.0]])
    assert printed(t) == "tensor([[1.5000, 2.0000], [3.0000, 4.0000]])"
    assert printed(torch.Size([2, 3])) == "torch.Size([2, 3])"


def test_free_tensor_and_source_ids():
    x = free_tensor((1000, 1000))
    assert x.shape == (1000, 1000) and x.stride() == (0, 0) and x.untyped_storage().nbytes() == 4
    assert source_ids((2, 3)).tolist() == [[0, 1, 2], [3, 4, 5]]


def test_compare_and_torch_message():
    x = torch.arange(5)
    assert compare(x, ">=", 3).tolist() == [False, False, False, True, True]
    with pytest.raises(InputError, match="Unknown comparison"):
        compare(x, "=>", 1)
    assert torch_message(RuntimeError("first line\nsecond")) == "first line"
    assert torch_message(RuntimeError()) == "RuntimeError"
