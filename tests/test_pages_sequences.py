"""The Sequences & attention lessons through AppTest: the numbers the pages show are torch's own (an embedding
lookup is one_hot @ W, the LSTM's shapes and step are nn.LSTM's, attention's weights and outputs are
F.scaled_dot_product_attention's and nn.MultiheadAttention's), and bad typed input shows a message and keeps the
other settings."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tests.helpers import (
    decode,
    errors,
    figure,
    metrics,
    open_page,
    panel_variables,
    panels,
    rerun,
    run_panel,
    same_output,
    set_widgets,
    table,
    trace,
    widget,
)

EMBEDDINGS, RECURRENT, ATTENTION = "pages/60_embeddings.py", "pages/61_recurrent.py", "pages/62_attention.py"


def z(spec: dict) -> np.ndarray:
    """A heatmap's values as floats (masked cells, drawn empty, are NaN)."""
    values = spec["data"][0]["z"]
    return decode(values) if isinstance(values, dict) else np.array(values, dtype=float)


def part(at, key: str, name: str):
    at.session_state[key] = name
    return rerun(at)


def query(at) -> dict:
    return {k: (v[0] if isinstance(v, list) else v) for k, v in at.query_params.items()}


# ------------------------------------------------------------------------------------------------ embeddings


def test_the_lookup_shown_is_one_hot_times_the_table(app):
    at = open_page(app, EMBEDDINGS)
    set_widgets(at, em_vocab=7, em_dim=5, em_seed=3, em_ids="6, 0, 6, 2")
    assert errors(at) == []
    weight = torch.empty(7, 5).normal_(generator=torch.Generator().manual_seed(3))  # nn.Embedding's N(0, 1)
    ids = torch.tensor([6, 0, 6, 2])
    emb = nn.Embedding(7, 5)
    with torch.no_grad():
        emb.weight.copy_(weight)
        looked_up = emb(ids)
    np.testing.assert_array_equal(z(figure(at, "emb.weight")), weight.double().numpy())
    np.testing.assert_array_equal(z(figure(at, "one_hot")), F.one_hot(ids, 7).double().numpy())
    shown = z(figure(at, "emb(ids)"))
    np.testing.assert_array_equal(shown, looked_up.double().numpy())
    np.testing.assert_array_equal(shown, (F.one_hot(ids, 7).float() @ weight).double().numpy())
    m = metrics(at)
    assert m["max difference"] == "0.0e+00" and m["emb.weight"] == "(7, 5)" and m["parameters"] == "35"
    assert m["tokens T"] == "4"


@pytest.mark.parametrize(("text", "says"), [("3, x", "`x` is not a number"), ("6, 9", "outside 0..6"),
                                            ("1.5", "not a whole number"), (",".join(["1"] * 17), "17 numbers")])
def test_bad_ids_show_a_message_and_keep_the_other_settings(app, text, says):
    at = open_page(app, EMBEDDINGS)
    set_widgets(at, em_vocab=7, em_dim=5, em_seed=3)
    before = query(at)
    set_widgets(at, em_ids=text)
    assert len(errors(at)) == 1 and says in errors(at)[0], errors(at)
    assert not at.get("plotly_chart")
    assert (widget(at, "em_vocab").value, widget(at, "em_dim").value, widget(at, "em_seed").value) == (7, 5, 3)
    assert {k: v for k, v in query(at).items() if k != "em_ids"} == before
    set_widgets(at, em_ids="1, 2")
    assert errors(at) == [] and metrics(at)["tokens T"] == "2" and widget(at, "em_vocab").value == 7


def test_positional_encodings_follow_the_formula(app):
    at = open_page(app, EMBEDDINGS)
    part(at, "em_part", "positions")
    set_widgets(at, em_positions=20, em_pdim=16, em_base=1000)
    pos = torch.arange(20, dtype=torch.float64)[:, None]
    two_i = torch.arange(0, 16, 2, dtype=torch.float64)
    pe = torch.zeros(20, 16, dtype=torch.float64)
    pe[:, 0::2], pe[:, 1::2] = torch.sin(pos / 1000 ** (two_i / 16)), torch.cos(pos / 1000 ** (two_i / 16))
    np.testing.assert_allclose(z(figure(at, "Sinusoidal PE")), pe.numpy(), atol=1e-6)
    sims = F.cosine_similarity(pe[:, None, :], pe[None, :, :], dim=-1).numpy()
    shown = z(figure(at, "Cosine similarity between positions"))
    np.testing.assert_allclose(shown, sims, atol=1e-6)
    for k in range(1, 19):  # the similarity of t and t + k depends on k only
        assert np.ptp(np.diagonal(shown, k)) < 1e-5
    learned = torch.empty(20, 16).normal_(generator=torch.Generator().manual_seed(1))  # seed + 1
    np.testing.assert_array_equal(z(figure(at, "Learned nn.Embedding")), learned.double().numpy())
    wl = trace([figure(at, "Wavelengths")], "wavelength 2π·base^(2i/d)")["y"]
    np.testing.assert_allclose(wl, 2 * math.pi * 1000 ** (two_i.numpy() / 16))
    assert metrics(at)["shortest wavelength"] == "6.28"


# ------------------------------------------------------------------------------------------------- recurrent

SMALL = dict(rn_len=6, rn_hidden=8, rn_steps=50)


def test_training_shown_is_the_panels_torch_run(app):
    at = open_page(app, RECURRENT)
    at.session_state["rn_task"], at.session_state["rn_cell"], at.session_state["rn_delay"] = "echo", "gru", 2
    set_widgets(at, **SMALL)
    assert errors(at) == []
    (code,) = panels(at)
    ns = panel_variables(code)  # nn.GRU trained by the panel's own loop
    curve = trace([figure(at, "Loss while training")], "training loss")["y"]
    np.testing.assert_allclose(curve, ns["losses"], rtol=1e-4, atol=1e-6)
    accuracy = (ns["pred"] == ns["y"])[ns["scored"]].float().mean().item()
    assert metrics(at)["accuracy per step"] == f"{accuracy:.1%}" and metrics(at)["chance"] == "25.0%"
    x, _ = ns["make_batch"](1, torch.Generator().manual_seed(0))  # the example shown (seed 0)
    with torch.no_grad():
        _, h = ns["model"](F.one_hot(x, 4).float())
    np.testing.assert_allclose(z(figure(at, "Hidden state")), h[0].T.double().numpy(), atol=1e-5)
    answers = figure(at, "Answers")["data"][0]["text"]
    assert answers[0] == [str(v) for v in x[0].tolist()] and answers[1][:2] == ["–", "–"]  # nothing to echo yet


def test_a_delay_longer_than_the_sequence_is_refused_and_nothing_else_moves(app):
    at = open_page(app, RECURRENT)
    at.session_state["rn_task"], at.session_state["rn_delay"] = "echo", 6
    set_widgets(at, **SMALL)
    assert len(errors(at)) == 1 and "The delay must be 1 to 5" in errors(at)[0]
    assert (widget(at, "rn_len").value, widget(at, "rn_hidden").value, widget(at, "rn_steps").value) == (6, 8, 50)
    set_widgets(at, rn_delay=2)
    assert errors(at) == [] and "accuracy per step" in metrics(at)


def test_gradient_through_time_shown_is_autograds(app):
    at = open_page(app, RECURRENT)
    part(at, "rn_part", "gradients")
    set_widgets(at, rn_flen=25, rn_hidden=16)
    spec = figure(at, "Gradient reaching each earlier input")
    codes = panels(at)
    assert len(codes) == 2
    for code, name in zip(codes, ("RNN", "LSTM"), strict=True):
        norms = panel_variables(code)["norms"]  # x.grad of the panel's own nn.RNN / nn.LSTM
        np.testing.assert_allclose(trace([spec], name)["y"], norms.double().numpy(), rtol=1e-4)
        decay = (norms[24] / norms[1]).item() ** (1 / 23)
        assert metrics(at)[f"{name}: × per step"] == f"{decay:.3f}"
    rnn, lstm = trace([spec], "RNN")["y"], trace([spec], "LSTM")["y"]
    assert rnn[20] / rnn[1] < 1e-3 and lstm[20] / lstm[1] > 100 * rnn[20] / rnn[1]


def test_lstm_shapes_and_step_are_nn_lstms(app):
    at = open_page(app, RECURRENT)
    part(at, "rn_part", "lstm")
    set_widgets(at, rn_isize=5, rn_lhidden=3, rn_seed=2)
    lstm = nn.LSTM(5, 3)
    shown = table(at, "nn.LSTM's shape")
    assert list(shown["parameter"]) == [name for name, _ in lstm.named_parameters()]
    assert list(shown["nn.LSTM's shape"]) == [str(tuple(p.shape)) for _, p in lstm.named_parameters()]
    assert list(shown["shape (4 gate blocks)"]) == ["(12, 5)", "(12, 3)", "(12,)", "(12,)"]
    m = metrics(at)
    assert m["weight_ih_l0"] == "(12, 5)" and m["weight_hh_l0"] == "(12, 3)"
    assert m["parameters"] == f"{sum(p.numel() for p in lstm.parameters()):,}" and float(m["max difference"]) < 1e-6
    g = torch.Generator().manual_seed(2)
    with torch.no_grad():  # the page's weights: U(-1/sqrt(H), 1/sqrt(H)) in nn.LSTM's parameter order
        for p in lstm.parameters():
            p.uniform_(-3 ** -0.5, 3 ** -0.5, generator=g)
        g = torch.Generator().manual_seed(3)
        x, h0, c0 = (torch.randn(n, generator=g) for n in (5, 3, 3))
        _, (h, c) = lstm(x[None, None], (h0[None, None], c0[None, None]))
    np.testing.assert_allclose(z(figure(at, "weight_ih_l0")), lstm.weight_ih_l0.detach().double().numpy())
    gates = z(figure(at, "One step, gate by gate"))  # rows i, f, g, o, c_t, h_t
    np.testing.assert_allclose(gates[4], c[0, 0].double().numpy(), atol=1e-6)
    np.testing.assert_allclose(gates[5], h[0, 0].double().numpy(), atol=1e-6)
    f = torch.sigmoid(lstm.weight_ih_l0[3:6] @ x + lstm.bias_ih_l0[3:6] + lstm.weight_hh_l0[3:6] @ h0
                      + lstm.bias_hh_l0[3:6])  # rows H:2H: the forget gate
    np.testing.assert_allclose(gates[1], f.detach().double().numpy(), atol=1e-6)
    (code,) = panels(at)  # the panel with these settings prints the shapes and the step the page shows
    results = run_panel(code)
    assert len(results) == 3 and all(same_output(printed, expected) for _, printed, expected in results), results


# ------------------------------------------------------------------------------------------------- attention


def hand_inputs(words, seed, d, heads):
    """X, Q, K, V as the lesson draws them, computed here from its description (per head: (h, T, d_head))."""
    vocab = sorted(set(words))
    ids = torch.tensor([vocab.index(w) for w in words])
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(len(vocab), d, generator=g, dtype=torch.float64)[ids]
    wq, wk, wv, wo = (torch.randn(d, d, generator=g, dtype=torch.float64) / math.sqrt(d) for _ in range(4))
    t, dh = len(words), d // heads

    def split(m):
        return m.view(t, heads, dh).transpose(0, 1)

    return x, split(x @ wq), split(x @ wk), split(x @ wv), (wq, wk, wv, wo)


@pytest.mark.parametrize(("head", "temperature", "causal"), [(0, 1.0, True), (1, 0.5, False), (3, 2.0, True)])
def test_attention_shown_is_torchs(app, head, temperature, causal):
    at = open_page(app, ATTENTION)
    at.session_state["at_heads"] = 4
    set_widgets(at, at_dmodel=16, at_temperature=temperature, at_causal=causal)
    set_widgets(at, at_head=head)
    words = ["the", "cat", "sat", "on", "the", "mat"]
    x, q, k, v, (wq, wk, wv, wo) = hand_inputs(words, 0, 16, 4)
    scale = 1 / (math.sqrt(4) * temperature)
    eye = torch.eye(6, dtype=torch.float64).expand(4, 6, 6)
    weights = F.scaled_dot_product_attention(q, k, eye, is_causal=causal, scale=scale)  # V = I: the weights
    np.testing.assert_allclose(z(figure(at, "weights = softmax")), weights[head].numpy(), atol=1e-9)
    np.testing.assert_allclose(z(figure(at, "scores")), (q @ k.transpose(1, 2) * scale)[head].numpy(), atol=1e-9)
    masked = z(figure(at, "masked scores"))
    above = np.triu(np.ones((6, 6), bool), 1)
    assert np.isnan(masked[above]).all() == causal and not np.isnan(masked[~above]).any()
    np.testing.assert_allclose(z(figure(at, "X:")), x.numpy())
    np.testing.assert_allclose(z(figure(at, "Q (head")), q[head].numpy(), atol=1e-12)
    heads_out = F.scaled_dot_product_attention(q, k, v, is_causal=causal, scale=scale)
    np.testing.assert_allclose(z(figure(at, "weights @ V")), heads_out[head].numpy(), atol=1e-9)
    mha = nn.MultiheadAttention(16, 4, bias=False, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.cat([wq / temperature, wk, wv], dim=1).T)
        mha.out_proj.weight.copy_(wo.T)
        out, mha_weights = mha(x[None], x[None], x[None], attn_mask=torch.from_numpy(above) if causal else None,
                               average_attn_weights=False)
    np.testing.assert_allclose(z(figure(at, "output")), out[0].numpy(), atol=1e-9)
    np.testing.assert_allclose(z(figure(at, "weights = softmax")), mha_weights[0, head].numpy(), atol=1e-9)
    m = metrics(at)
    for label in ("max diff vs SDPA", "max diff vs nn.MHA", "weights vs nn.MHA"):
        assert float(m[label]) < 1e-6, (label, m[label])
    assert m["largest masked weight"] == ("0" if causal else m["largest masked weight"])
    rows = figure(at, "weights = softmax")["layout"]["yaxis"]["ticktext"]
    assert rows == words


@pytest.mark.parametrize(("text", "says"), [("the supercalifragilisticexpialidocious cat", "at most 20 characters"),
                                            ("a b c d e f g h i j k l m n o p q", "17 words"),
                                            ("the <b>cat</b>", "is not a word"), ("   ", "Type a few words")])
def test_bad_tokens_show_a_message_and_keep_the_other_settings(app, text, says):
    at = open_page(app, ATTENTION)
    set_widgets(at, at_temperature=2.0, at_dmodel=16, at_seed=4, at_positions=True)
    before = query(at)
    set_widgets(at, at_tokens=text)
    assert len(errors(at)) == 1 and says in errors(at)[0], errors(at)
    assert "<b>" not in errors(at)[0] or "`" in errors(at)[0]  # the learner's text is quoted, never markup
    assert not at.get("plotly_chart")
    assert (widget(at, "at_temperature").value, widget(at, "at_dmodel").value, widget(at, "at_seed").value,
            widget(at, "at_positions").value) == (2.0, 16, 4, True)
    assert {k: v for k, v in query(at).items() if k != "at_tokens"} == before
    set_widgets(at, at_tokens="a dog chased the cat")
    assert errors(at) == [] and figure(at, "weights = softmax")["layout"]["yaxis"]["ticktext"] == \
        ["a", "dog", "chased", "the", "cat"]


def test_heads_that_do_not_divide_d_model_are_explained(app):
    at = open_page(app, ATTENTION)
    at.session_state["at_heads"] = 8
    set_widgets(at, at_dmodel=4)
    assert len(errors(at)) == 1 and "number of heads" in errors(at)[0]
    set_widgets(at, at_dmodel=32)
    assert errors(at) == [] and [w.options for w in at.get("segmented_control") if w.key == "at_head"][0] == \
        [f"head {h}" for h in range(8)]
