"""The Tensor lab pages through AppTest: the values shown are torch's, bad input gives a message, never a crash.

Code panels are run too: the code a learner copies must reproduce what the page shows.
"""

import contextlib
import io
import json

import pytest
import torch

from core import broadcasting, gather, selection, tensor_math
from tests.helpers import (
    codes,
    decode,
    errors,
    figure,
    metrics,
    open_page,
    panels,
    plotly_specs,
    rerun,
    run_panel,
    same_output,
    table,
)

BROADCASTING = "pages/10_broadcasting.py"
GATHER = "pages/11_gather.py"
TOPK = "pages/12_topk.py"
CREATION = "pages/13_creation_indexing.py"
COMBINE = "pages/14_combine_split.py"
MATH = "pages/15_math.py"


def run_code(at) -> dict:
    """Run the lesson's code panels (our own generated code): their prints must match their comments; returns the
    names the first one defines."""
    code, *others = panels(at)  # the lesson's panel first; a part may add one (Math's operators)
    for each in (code, *others):
        wrong = [(printed, expected) for _, printed, expected in run_panel(each) if not same_output(printed, expected)]
        assert not wrong, (wrong, each)
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(code, "<code panel>", "exec"), namespace)
    return namespace


def z(trace: dict) -> list:
    """A heatmap's z as nested lists."""
    return decode(trace["z"]).tolist()


# ---------------------------------------------------------------------------------------------------------
# Broadcasting


def test_broadcasting_default_shows_torch_result_shape(app):
    at = open_page(app, BROADCASTING)
    assert metrics(at)["Result shape"] == "(4, 32, 14, 14)"
    assert not errors(at)
    align = plotly_specs(at)[0]["data"][0]
    assert align["text"][1] == ["new 1→4", "32", "1→14", "1→14"]  # B's row: inserted, kept, stretched, stretched
    assert align["text"][2] == ["4", "32", "14", "14"]
    # the small example: a + b computed by torch, first 2-D slice
    out = figure(at, "a + b")["data"][0]
    ex = broadcasting.broadcast_example((3, 3, 3, 3), (3, 1, 1))
    assert z(out) == ex.out[0, 0].tolist()
    table = at.dataframe[0].value
    assert table["storage bytes"].tolist() == ["128", "128", str(4 * 32 * 14 * 14 * 4)]
    assert table["same data_ptr as x"].tolist()[1:] == ["True", "False"]
    ns = run_code(at)
    assert torch.equal(ns["c"], ex.out) and tuple(ns["c"].shape) == (3, 3, 3, 3)
    assert ns["e"].stride() == (0, 1, 0, 0) and ns["r"].shape == (4, 32, 14, 14)


def test_broadcasting_incompatible_pair_names_the_failing_dimension(app):
    at = open_page(app, BROADCASTING)
    at.text_input(key="bc_b").set_value("3,1,1")
    rerun(at)
    assert metrics(at)["Result shape"] == "does not broadcast"
    (message,) = errors(at)
    assert message.startswith("Dimension 1 of the result (dim -3 counted from the right) fails: A has size 32 and B "
                              "has size 3")
    assert any("must match the size of tensor b (3) at non-singleton dimension 1" in m.value for m in at.markdown)
    assert plotly_specs(at)[0]["data"][0]["text"][2][1] == "✗"


@pytest.mark.parametrize(("text", "message"), [("3,a", "Shape of B: `a` is not a size"),
                                               ("2000,2000", "at most 1,000,000"),
                                               ("3,-1", "sizes cannot be negative")])
def test_broadcasting_bad_shapes_show_a_message(app, text, message):
    at = open_page(app, BROADCASTING)
    at.text_input(key="bc_b").set_value(text)
    rerun(at)
    assert any(message in e for e in errors(at))
    assert not plotly_specs(at)
    at.text_input(key="bc_b").set_value("1,14")  # the page keeps working
    rerun(at)
    assert metrics(at)["Result shape"] == "(4, 32, 14, 14)"


def test_broadcasting_examples_cap_and_link(app):
    at = open_page(app, BROADCASTING)
    at.pills(key="bc_example").set_value("column + row")
    rerun(at)
    assert (at.text_input(key="bc_a").value, at.text_input(key="bc_b").value) == ("3,1", "1,4")
    assert metrics(at)["Result shape"] == "(3, 4)"
    assert z(figure(at, "a + b")["data"][0]) == [[10, 20, 30], [11, 21, 31], [12, 22, 32]]
    at.slider(key="bc_cap").set_value(2)
    rerun(at)
    assert z(figure(at, "a + b")["data"][0]) == [[10, 20], [11, 21]]
    assert at.query_params["bc_a"] == "3,1" and at.query_params["bc_cap"] == "2"  # a shareable link


# ---------------------------------------------------------------------------------------------------------
# gather


def test_gather_worked_example_preset(app):
    at = open_page(app, GATHER)
    assert codes(at)[0] == "out = [[1, 1], [4, 3]]"
    out = figure(at, "out")["data"][0]
    assert out["text"] == [["1<br>from [0,0]", "1<br>from [0,0]"], ["4<br>from [1,1]", "3<br>from [1,0]"]]
    # each output cell has the colour of its source: the same colour code as that input cell
    inp = figure(at, "input")["data"][0]
    assert z(out)[1][0] == z(inp)[1][1] and z(out)[1][1] == z(inp)[1][0]
    assert any("out[i][j] = input[i][index[i][j]]" in m.value for m in at.markdown)
    assert run_code(at)["out"].tolist() == [[1, 1], [4, 3]]


def test_gather_label_probability_preset(app):
    at = open_page(app, GATHER)
    at.selectbox(key="ga_preset").set_value("label")
    rerun(at)
    preset = gather.gather_presets(0)["label"]
    probs, labels = torch.tensor(preset.input), torch.tensor(preset.index).squeeze(1)
    ns = run_code(at)
    assert torch.equal(ns["picked"], probs[torch.arange(4), labels])
    assert codes(at)[0] == f"out = {[[round(v, 4)] for v in probs[torch.arange(4), labels].double().tolist()]}"


def test_gather_bad_index_gives_clear_errors(app):
    at = open_page(app, GATHER)
    at.button(key="ga_edit").click()
    rerun(at)
    assert at.session_state["ga_mode"] == "typed"
    assert at.text_area(key="ga_input").value == "[[1, 2], [3, 4]]"
    at.text_area(key="ga_index").set_value("[[0, 2], [1, 0]]")
    rerun(at)
    assert errors(at) == ["index[0, 1] = 2 is out of range: it picks along dim 1, where input has size 2, so every "
                          "index must be in 0..1."]
    at.text_area(key="ga_index").set_value("[0, 1]")
    rerun(at)
    assert "index has 1 dimension but input has 2" in errors(at)[0]
    at.text_area(key="ga_index").set_value("[[0], [1], [0]]")
    rerun(at)
    assert "index has size 3 in dim 0 but input has only 2" in errors(at)[0]
    at.text_area(key="ga_input").set_value("[[1, 2], [3")
    rerun(at)
    assert "never closed" in errors(at)[0]
    at.text_area(key="ga_input").set_value("[[1, 2], [3, 4]]")
    at.text_area(key="ga_index").set_value("[[1], [0]]")
    rerun(at)
    assert not errors(at) and codes(at)[0] == "out = [[2], [3]]"


def test_gather_random_mode_matches_torch(app):
    at = open_page(app, GATHER)
    at.segmented_control(key="ga_mode").set_value("random")
    rerun(at)
    at.segmented_control(key="ga_dim").set_value(0)
    at.number_input(key="ga_seed").set_value(42)
    rerun(at)
    x, index = gather.random_gather(3, 4, 3, 2, 0, 42)
    assert codes(at)[0] == f"out = {torch.gather(x, 0, index).tolist()}"


# ---------------------------------------------------------------------------------------------------------
# topk / argmax


def test_topk_values_indices_and_shapes(app):
    at = open_page(app, TOPK)
    x = selection.distinct_values((4, 6), 0)
    assert metrics(at)["values shape"] == "(4, 2)"
    at.slider(key="tk_k").set_value(3)
    rerun(at)
    values, indices = torch.topk(x, 3, dim=1)
    assert metrics(at)["values shape"] == "(4, 3)" and metrics(at)["indices shape"] == "(4, 3)"
    assert codes(at)[0] == f"values  = {values.tolist()}\nindices = {indices.tolist()}"
    grid = figure(at, "x (4, 6)")
    assert len(grid["layout"]["shapes"]) == 12  # 3 outlined winners per row
    assert grid["data"][0]["text"][0][int(indices[0, 0])] == f"{int(values[0, 0])} #1"
    assert run_code(at)["values"].tolist() == values.tolist()


def test_argmax_flat_vs_per_dim(app):
    at = open_page(app, TOPK)
    at.segmented_control(key="tk_op").set_value("argmax")
    rerun(at)
    at.toggle(key="tk_nodim").set_value(True)
    rerun(at)
    x = selection.distinct_values((4, 6), 0)
    assert metrics(at)["flat index"] == str(int(x.argmax()))
    assert metrics(at)["indices shape"] == "()"
    text = " ".join(m.value for m in at.markdown)
    assert f"`x.argmax(dim=1)` → `{x.argmax(dim=1).tolist()}`" in text
    assert run_code(at)["result"] == x.argmax()  # the panel's print lines match too (run_code checks them)


def test_topk_bad_shape(app):
    at = open_page(app, TOPK)
    at.text_input(key="tk_shape").set_value("4,,x")
    rerun(at)
    at.text_input(key="tk_shape").set_value("4;6")
    rerun(at)
    assert errors(at) and "not a size" in errors(at)[0]
    at.text_input(key="tk_shape").set_value("2,3,4,5")
    rerun(at)
    assert "at most 3" in errors(at)[0]


# ---------------------------------------------------------------------------------------------------------
# Creation, indexing & shape


def test_creation_randint_code_reproduces_the_tensor(app):
    at = open_page(app, CREATION)
    at.number_input(key="cr_seed").set_value(7)
    rerun(at)
    expected = torch.randint(0, 10, (3, 4), generator=torch.Generator().manual_seed(7))
    assert torch.equal(run_code(at)["x"], expected)
    assert z(figure(at, "torch.randint")["data"][0]) == expected.float().tolist()
    at.selectbox(key="cr_kind").set_value("linspace")
    rerun(at)
    assert metrics(at)["shape"] == "(5,)"
    assert z(figure(at, "torch.linspace")["data"][0]) == [[0.0, 2.5, 5.0, 7.5, 10.0]]
    at.selectbox(key="cr_kind").set_value("arange")
    rerun(at)
    # torch.arange(0, 10, 1) holds int64, as the shown call does when a learner runs it
    assert metrics(at)["dtype"] == "int64" and run_code(at)["x"].dtype == torch.int64


def test_creation_refuses_huge_and_backwards(app):
    at = open_page(app, CREATION)
    at.text_input(key="cr_shape").set_value("2000,2000")
    rerun(at)
    assert "at most 1,000,000" in errors(at)[0]
    at.selectbox(key="cr_kind").set_value("arange")
    rerun(at)
    at.number_input(key="cr_step").set_value(-1.0)
    rerun(at)
    assert "goes the wrong way" in errors(at)[0]


def test_indexing_slices_and_errors(app):
    at = open_page(app, CREATION)
    at.segmented_control(key="cr_part").set_value("index")
    rerun(at)
    x = torch.arange(20).reshape(4, 5)
    assert metrics(at)["result shape"] == "(2, 3)" and metrics(at)["memory"] == "view of x"
    assert z(figure(at, "x[1:3, ::2]")["data"][0]) == x[1:3, ::2].float().tolist()
    assert len(figure(at, "x: outlined")["layout"]["shapes"]) == 6
    at.text_input(key="cr_items").set_value("..., 5")
    rerun(at)
    assert errors(at) == ["torch refused this index: index 5 is out of bounds for dimension 1 with size 5."]
    at.text_input(key="cr_items").set_value("::-1")
    rerun(at)
    assert "no negative steps" in errors(at)[0]
    at.radio(key="cr_iop").set_value("take")
    rerun(at)
    assert run_code(at)["y"].tolist() == [0, 7, 19]


def test_view_after_transpose_fails_and_strides_are_shown(app):
    at = open_page(app, CREATION)
    at.segmented_control(key="cr_part").set_value("view")
    rerun(at)
    table = at.dataframe[0].value
    assert table["stride"].tolist() == ["(4, 1)", "(1, 4)", "(1,)"]
    assert table["is_contiguous()"].tolist() == ["True", "False", "True"]
    assert table["shares x's storage"].tolist() == ["True", "True", "False"]
    at.selectbox(key="cr_second").set_value("view")
    rerun(at)
    assert "view size is not compatible with input tensor's size and stride" in errors(at)[0]
    assert "z" not in run_code(at)  # the failing view is a comment: the rest of the panel runs
    at.selectbox(key="cr_first").set_value("none")
    rerun(at)
    assert not errors(at) and at.dataframe[0].value["shares x's storage"].tolist() == ["True", "True"]


def test_round_trip_contamination_demo(app):
    at = open_page(app, CREATION)
    at.segmented_control(key="cr_part").set_value("round_trip")
    rerun(at)
    m = metrics(at)
    assert m["torch.all(torch.eq(a, a1)), wrong order"] == "False"
    assert m["torch.all(torch.eq(a, a2)), right order"] == "True"
    ns = run_code(at)
    assert not torch.equal(ns["a"], ns["a1"]) and torch.equal(ns["a"], ns["a2"])
    at.text_input(key="cr_rshape").set_value("2,3,4")
    rerun(at)
    assert "4-D batch" in errors(at)[0]


def test_unsqueeze_negative_dim(app):
    at = open_page(app, CREATION)
    at.segmented_control(key="cr_part").set_value("squeeze")
    rerun(at)
    at.slider(key="cr_udim").set_value(-1)
    rerun(at)
    assert metrics(at)["x.unsqueeze(-1)"] == "(1, 3, 1, 4, 1)"
    assert metrics(at)["x.squeeze()"] == "(3, 4)"
    assert "`unsqueeze(-1)` is `unsqueeze(4)`" in " ".join(m.value for m in at.markdown)


# ---------------------------------------------------------------------------------------------------------
# Combine & split


def test_cat_vs_stack(app):
    at = open_page(app, COMBINE)
    assert metrics(at) == {"torch.cat([t0, t1], dim=0)": "(4, 3)", "torch.stack([t0, t1], dim=0)": "(2, 2, 3)"}
    at.pills(key="cs_example").set_value("cat only")
    rerun(at)
    assert metrics(at)["torch.cat([t0, t1], dim=0)"] == "(6, 3)"
    assert metrics(at)["torch.stack([t0, t1], dim=0)"] == "error"
    assert "stack expects each tensor to be equal size" in errors(at)[0]
    cat = figure(at, "torch.cat")["data"][0]
    assert [row[0] for row in cat["text"]] == ["0", "3", "100", "103", "106", "109"]  # t1 starts at 100
    at.text_input(key="cs_shapes").set_value("2,3; 2,y")
    rerun(at)
    assert errors(at)[0].startswith("Shapes: `y` is not a size")


def test_split_and_chunk(app):
    at = open_page(app, COMBINE)
    at.segmented_control(key="cs_part").set_value("split_chunk")
    rerun(at)
    assert metrics(at)["pieces"] == "3"
    assert run_code(at)["pieces"][2].tolist() == [[16, 17, 18, 19]]
    at.radio(key="cs_mode").set_value("chunk(n)")
    rerun(at)
    at.slider(key="cs_chunks").set_value(4)
    rerun(at)
    assert metrics(at)["pieces"] == "3"
    assert "chunk(4) returned 3 pieces" in at.info[0].value
    at.radio(key="cs_mode").set_value("split([sizes])")
    rerun(at)
    at.text_input(key="cs_sizes").set_value("2, 2")
    rerun(at)
    assert "add up to 4, but dim 0 has size 5" in errors(at)[0]


# ---------------------------------------------------------------------------------------------------------
# Math


def test_matmul_batch_broadcasting(app):
    at = open_page(app, MATH)
    assert metrics(at)["A @ B"] == "(10, 5, 3, 2)"
    ns = run_code(at)
    assert ns["C"].shape == (2, 2, 3, 2)
    c_grid = z(figure(at, "C = A @ B")["data"][0])
    assert c_grid == ns["C"][0, 0].tolist()
    at.slider(key="ma_i").set_value(2)
    at.slider(key="ma_j").set_value(1)
    rerun(at)
    assert codes(at)[0].startswith("C[2, 1] = Σ_k A[2, k]·B[k, 1]")
    assert codes(at)[0].endswith(f"= {int(ns['C'][0, 0, 2, 1])}")
    at.text_input(key="ma_b").set_value("5,3,2")
    rerun(at)
    assert "A's last dim is 4 but B's second-to-last dim is 3" in errors(at)[0]


def test_clipping_and_reductions(app):
    at = open_page(app, MATH)
    at.segmented_control(key="ma_part").set_value("clamp")
    rerun(at)
    grad = torch.randn(12, generator=torch.Generator().manual_seed(0)) * 1.5
    assert metrics(at)["‖grad‖"] == f"{float(grad.norm()):.3f}"
    assert metrics(at)["‖norm-clipped‖"] == "1.000"
    assert metrics(at)["entries clamped"] == str(int((grad.abs() > 0.5).sum()))
    at.segmented_control(key="ma_part").set_value("reductions")
    rerun(at)
    at.segmented_control(key="ma_rop").set_value("max")
    rerun(at)
    x = tensor_math.small_ints((3, 4), 0, -5, 6)
    assert codes(at)[0] == f"x.max(dim=1) = {x.max(dim=1).values.tolist()}"
    assert len(figure(at, "x")["layout"]["shapes"]) == 3


def test_where_and_norm(app):
    at = open_page(app, MATH)
    at.segmented_control(key="ma_part").set_value("where")
    rerun(at)
    x = tensor_math.small_ints((3, 4), 0, -5, 6)
    assert metrics(at)["cells where the mask is True"] == str(int((x > 0).sum()))
    out = z(figure(at, "torch.where")["data"][0])
    assert out == torch.where(x > 0, x, torch.tensor(0.0)).tolist()
    at.segmented_control(key="ma_part").set_value("norm")
    rerun(at)
    assert z(figure(at, "x.norm(p=2, dim=1)")["data"][0]) == [x.norm(dim=1).tolist()]
    at.text_input(key="ma_xshape").set_value("0,3")
    rerun(at)
    assert "size 0" in errors(at)[0]


@pytest.mark.parametrize("path", [BROADCASTING, GATHER, TOPK, CREATION, COMBINE, MATH])
def test_every_tensor_page_has_a_runnable_code_panel(app, path):
    at = open_page(app, path)
    assert not errors(at)
    run_code(at)
    assert json.dumps(plotly_specs(at))  # figures serialise


def test_figures_built_without_validation_are_valid_plotly():
    """The figure builders skip plotly's validation for speed: validating them must accept and keep every field."""
    import plotly.graph_objects as go
    import plotly.io as pio

    from ui import figures_tensors as figures

    bc = broadcasting.broadcast((4, 32, 14, 14), (3, 1, 1))
    x = torch.arange(12).reshape(3, 4)
    built = [
        figures.grid(x.numpy(), title="x", highlight=(x > 5).numpy(), colorscale="RdBu_r"),
        figures.grid(torch.randn(30, 40).numpy(), title="big"),
        figures.grid(torch.tensor(3.0).numpy()),
        figures.first_slice(torch.arange(24).reshape(2, 3, 4), title="first", highlight=torch.ones(2, 3, 4) > 0),
        figures.source_grid(x.numpy(), x.numpy().astype(str), title="owner", highlight=(x > 5).numpy()),
        figures.alignment(bc.dims),
        figures.storage_strip(x.flatten().numpy()),
        figures.bars({"a": [1, -2, 3], "b": [0.5, -0.5, 0.5]}, title="bars", lines=[(0.5, "+0.5")]),
        figures.curve([0, 1, 2], {"y": [0, 1, float("nan")]}, title="curve"),
        figures.histogram([1, 2, 1], [0, 1, 2, 3], title="hist"),
        figures.small_multiples({"a": [x, x], "b": [x, x + 1]}, titles=["[0]", "[1]"], reference="a"),
    ]
    for fig in built:
        raw = json.loads(pio.to_json(fig, validate=False))
        validated = json.loads(pio.to_json(go.Figure(fig.to_dict()), validate=False))
        assert validated == raw


def test_gather_3d_shows_every_input_slice(app):
    at = open_page(app, GATHER)
    at.segmented_control(key="ga_mode").set_value("typed")
    rerun(at)
    at.text_area(key="ga_input").set_value("[[[1, 2], [3, 4]], [[5, 6], [7, 8]]]")
    at.text_area(key="ga_index").set_value("[[[1, 0]], [[0, 1]]]")
    at.segmented_control(key="ga_dim").set_value(0)
    rerun(at)
    assert codes(at)[0] == "out = [[[5, 2]], [[1, 6]]]"
    assert figure(at, "out")["data"][0]["text"] == [["5<br>from [1,0,0]", "2<br>from [0,0,1]"]]
    # out slice 0 reads input[1][0][0] and input[0][0][1]: one outline in each input slice
    assert len(figure(at, "input[0]")["layout"]["shapes"]) == 1
    assert len(figure(at, "input[1]")["layout"]["shapes"]) == 1
    at.slider(key="ga_slice_0").set_value(1)
    rerun(at)
    assert figure(at, "out")["data"][0]["text"] == [["1<br>from [0,0,0]", "6<br>from [1,0,1]"]]


def test_settings_come_back_from_a_shared_link(app):
    app.query_params["tk_k"] = "3"
    app.query_params["tk_shape"] = "5,7"
    at = open_page(app, TOPK)
    assert at.slider(key="tk_k").value == 3
    assert metrics(at)["values shape"] == "(5, 3)"


@pytest.mark.parametrize(("path", "query", "shown"), [
    (GATHER, {"ga_mode": "Type your own", "ga_index": "[[1], [0]]"}, "out = [[2], [3]]"),
    (CREATION, {"cr_part": "View & strides"}, None),
    (COMBINE, {"cs_part": "split & chunk"}, None),
    (MATH, {"ma_part": "pow · sqrt · exp · log", "ma_fn": "exp"}, None),
])
def test_links_made_with_the_old_part_labels_still_open_their_part(app, path, query, shown):
    app.query_params.update(query)
    at = open_page(app, path)
    key = next(iter(query))
    assert at.session_state[key] == {"Type your own": "typed", "View & strides": "view", "split & chunk": "split_chunk",
                                     "pow · sqrt · exp · log": "elementwise"}[query[key]]
    assert not at.info, [i.value for i in at.info]  # no "values were not valid" notice
    control = at.segmented_control(key=key)
    assert [control.options[i] for i in control.indices] == [query[key]]  # shown by its label, as before
    if shown:
        assert codes(at)[0] == shown
    run_code(at)


def test_math_operators_products_and_new_functions(app):
    at = open_page(app, MATH)
    products = table(at, "shapes")
    by = dict(zip(products["code"], products["result"], strict=True))
    assert by["M @ N"] == "shape (2, 2)" and by["torch.bmm(BM, BN)"] == "shape (4, 2, 2)"
    assert by["M * N"].startswith("error: The size of tensor a (3) must match")
    at.session_state["ma_part"] = "elementwise"
    rerun(at)
    ops = table(at, "function")
    assert all(ops["same"])
    floor = ops[ops["code"] == "a // b"]["result"].item()
    assert floor == str((torch.tensor([7.0, -7.0, 7.5, -7.5]) // torch.tensor([2.0, 2.0, -2.0, -2.0])).tolist())
    for fn in ("rsqrt", "log2", "frac", "round"):
        at.session_state["ma_fn"] = fn
        rerun(at)
        run_code(at)
        assert metrics(at)["points"] == "41"


def test_classic_image_batches_fit(app):
    at = open_page(app, COMBINE)
    at.text_input(key="cs_shapes").set_value("4,3,32,32; 4,3,32,32")
    rerun(at)
    m = metrics(at)
    a = torch.zeros(4, 3, 32, 32)
    assert m["torch.cat([t0, t1], dim=0)"] == fmt(torch.cat([a, a]).shape)
    assert m["torch.stack([t0, t1], dim=0)"] == fmt(torch.stack([a, a]).shape)
    run_code(at)
    at = open_page(app, CREATION)
    at.session_state["cr_part"] = "view"
    at.session_state["cr_first"] = "permute"
    rerun(at)
    at.text_input(key="cr_vshape").set_value("4,3,28,32")
    at.text_input(key="cr_perm").set_value("0,2,3,1")
    rerun(at)
    assert not at.error
    layout = at.dataframe[0].value.astype(str)
    y = torch.zeros(4, 3, 28, 32).permute(0, 2, 3, 1)
    assert str(y.stride()) in " ".join(layout.to_string().split())


def fmt(shape) -> str:
    return "(" + ", ".join(map(str, shape)) + ")"


def test_puzzles_page_checks_answers_and_counts_solved(app):
    at = open_page(app, "pages/16_puzzles.py")
    assert metrics(at)["solved"] == "0 of 16"
    at.text_area(key="pz_a_outer").set_value("a[:, None] + b[None, :]")
    rerun(at)
    assert any("values differ" in e.value for e in at.error) and len(at.get("plotly_chart")) >= 3
    at.text_area(key="pz_a_outer").set_value("a[:, None] * b[None, :]")
    rerun(at)
    assert at.success and metrics(at)["solved"] == "1 of 16"
    at.text_area(key="pz_a_outer").set_value("__import__('os')")
    rerun(at)
    assert errors(at) and metrics(at)["solved"] == "0 of 16"
