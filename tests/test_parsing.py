"""core.parsing: what learners type becomes shapes, numbers and index items, or a clear message. Never eval."""

import pytest
import torch

from core.parsing import InputError, parse_index, parse_ints, parse_numbers, parse_shape, parse_tensor


@pytest.mark.parametrize(("text", "shape"), [("4,32,14,14", (4, 32, 14, 14)), ("(4, 32, 14, 14)", (4, 32, 14, 14)),
                                             ("[3 1]", (3, 1)), ("4x3", (4, 3)), (" 5 ", (5,))])
def test_parse_shape(text, shape):
    assert parse_shape(text) == shape


@pytest.mark.parametrize(("text", "message"), [
    ("", "Type a shape"), ("3,a", "`a` is not a size"), ("2,-3", "sizes cannot be negative"),
    ("2000,2000", "at most 1,000,000"), ("0,3", "size 0"), ("1,1,1,1,1,1,1,1,1", "at most 8"),
    ("__import__('os')", "is not a size"), ("x", "Type a shape"), ("*", "Type a shape"), (" , x ", "Type a shape"),
])
def test_parse_shape_refuses_with_a_message(text, message):
    with pytest.raises(InputError, match=message):
        parse_shape(text)


def test_parse_shape_allows_one_inferred_size():
    assert parse_shape("2,-1", allow_infer=True) == (2, -1)
    with pytest.raises(InputError, match="Only one size can be -1"):
        parse_shape("-1,-1", allow_infer=True)
    with pytest.raises(InputError, match="only -1 is allowed"):
        parse_shape("2,-2", allow_infer=True)
    with pytest.raises(InputError, match="cannot be negative"):
        parse_shape("2,-1")
    assert torch.zeros(12).view(parse_shape("3, -1", allow_infer=True)).shape == (3, 4)


def test_parse_numbers_and_ints():
    assert parse_numbers("[1, 2.5, -3]") == [1.0, 2.5, -3.0]
    assert parse_ints("[0, 2, -1]") == [0, 2, -1]
    with pytest.raises(InputError, match="not a whole number"):
        parse_ints("1, 1.5")
    with pytest.raises(InputError, match="is not a number"):
        parse_ints("1, two")


def test_parse_tensor_shapes_and_errors():
    assert parse_tensor("[[1, 2], [3, 4]]") == [[1.0, 2.0], [3.0, 4.0]]
    assert parse_tensor("1 2; 3 4", integer=True) == [[1, 2], [3, 4]]
    with pytest.raises(InputError, match="rectangular"):
        parse_tensor("[[1, 2], [3]]")
    with pytest.raises(InputError, match="never closed"):
        parse_tensor("[[1, 2]")


X = torch.arange(24).reshape(2, 3, 4)


@pytest.mark.parametrize(("text", "reference"), [
    ("1:3, ::2", (slice(1, 3), slice(None, None, 2))),
    ("..., -1", (Ellipsis, -1)),
    (":, None", (slice(None), None)),
    ("[0,]", (0,)),
    ("::", (slice(None),)),
    ("0, 1:, :3:2", (0, slice(1, None), slice(None, 3, 2))),
    ("…, 0", (Ellipsis, 0)),
])
def test_parse_index_builds_the_same_index_as_python(text, reference):
    items = parse_index(text)
    assert items == reference
    assert torch.equal(X[items], X[reference])


@pytest.mark.parametrize(("text", "message"), [
    ("", "Type an index"), ("1:3:0", "step is 0"), ("::-1", "no negative steps"), ("a", "is not an index item"),
    ("..., ...", "only once"), ("x[0]", "is not an index item"), ("1:2:3:4", "is not an index item"),
    ("0,0,0,0,0,0,0,0,0", "at most|more than"),
])
def test_parse_index_refuses_with_a_message(text, message):
    with pytest.raises(InputError, match=message):
        parse_index(text)
