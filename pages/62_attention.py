import streamlit as st

from core import attention
from core.attention import AttentionConfig
from core.parsing import InputError
from ui import figures_sequences as figures
from ui import links
from ui.common import code_panel, fail, header

D_MODELS = (4, 8, 16, 32)
HEADS = (1, 2, 4, 8)
PARAMS = {
    "at_tokens": links.Text("the cat sat on the mat", max_len=200,
                            refused=("the supercalifragilisticexpialidocious cat", "a b c d e f g h i j k l m n o p q"),
                            accepted="a dog chased the cat"),
    "at_temperature": links.Float(1.0, 0.1, 5.0),
    "at_dmodel": links.Choice(8, D_MODELS),
    "at_heads": links.Choice(2, HEADS),
    "at_seed": links.Int(0, 0, 10_000),
    "at_causal": links.Bool(True),
    "at_positions": links.Bool(False),
}

links.bind(PARAMS)
header("Attention by hand", "Self-attention lets every token look at the others and take a weighted average of "
       "what they offer. Each token's vector x is projected three ways: a **query** (what am I looking for?), a "
       "**key** (what do I contain?) and a **value** (what do I pass on?). Type a sentence, then change the "
       "temperature and the mask and watch the weights; every step is computed by hand and checked against "
       "`F.scaled_dot_product_attention` and `nn.MultiheadAttention`.")
ss = st.session_state
st.text_input(f"Tokens (words separated by spaces, at most {attention.MAX_TOKENS})", key="at_tokens")
c = st.columns([2, 1.5, 1.5])
c[0].slider("temperature", 0.1, 5.0, step=0.05, key="at_temperature",
            help="Divides the scores: below 1 sharpens the weights towards the largest score, above 1 flattens them")
c[1].select_slider("d_model", D_MODELS, key="at_dmodel", help="The width of each token's vector")
c[2].segmented_control("heads", HEADS, key="at_heads", required=True, help="d_head = d_model / heads")
c = st.columns([1, 1.2, 1.2, 1.6], vertical_alignment="bottom")
c[0].number_input("seed", 0, 10_000, key="at_seed", help="Draws the word vectors and W_q, W_k, W_v, W_o")
c[1].toggle("causal mask", key="at_causal", help="A token may look only at itself and the tokens before it")
c[2].toggle("positions", key="at_positions", help="Add sinusoidal positional encodings to X")

try:
    tokens = attention.parse_tokens(ss["at_tokens"])
except InputError as exc:
    fail(f"Tokens: {exc}")
cfg = AttentionConfig(tokens=tokens, seed=ss["at_seed"], d_model=ss["at_dmodel"], n_heads=ss["at_heads"],
                      temperature=ss["at_temperature"], causal=ss["at_causal"], positions=ss["at_positions"])


@st.cache_data(max_entries=64, show_spinner=False)
def _attend(cfg: AttentionConfig) -> dict:
    att, checks = attention.attention(cfg), attention.check(cfg)
    return dict(att=att, checks=checks, code=attention.attention_code(cfg, att, checks))


try:
    r = _attend(cfg)
except InputError as exc:
    fail(str(exc))
att, checks = r["att"], r["checks"]
m = st.columns(4)
m[0].metric("max diff vs SDPA", f"{checks.sdpa:.1e}",
            help="max |hand heads' output − F.scaled_dot_product_attention(q, k, v, is_causal, scale)|")
m[1].metric("max diff vs nn.MHA", f"{checks.mha:.1e}",
            help="max |hand output − nn.MultiheadAttention(x, x, x)| with the same weights copied in")
m[2].metric("weights vs nn.MHA", f"{checks.mha_weights:.1e}",
            help="max |hand weights − the module's per-head weights (average_attn_weights=False)|")
m[3].metric("largest masked weight", f"{checks.masked_max:g}",
            help="The largest weight above the diagonal: exactly 0 with the causal mask (exp(−∞) = 0)")

labels = figures.token_labels(tokens)
heads = att.q.shape[0]
c = st.columns(2)
c[0].plotly_chart(figures.heat(att.x, title=f"X: the tokens' vectors (T × d_model = {len(tokens)} × {cfg.d_model})",
                               rows=labels, col_title="dim"), key="at_x_fig")
c[1].markdown(
    f"**From words to X.** The {len(att.vocab)} distinct words get one seeded random vector each (a stand-in "
    "for a trained `nn.Embedding`), so a repeated word gets the same row."
    + (" Sinusoidal positions are added, so the copies now differ." if cfg.positions else
       " Without positions, attention cannot tell the copies apart: shuffle the words and every token's output "
       "stays the same, only reordered. Switch **positions** on to add the sinusoids of the Embeddings lesson.")
    + f"\n\n`Q = X W_q`, `K = X W_k`, `V = X W_v` are ({len(tokens)} × {cfg.d_model}); with {heads} head"
    + ("s their columns are split into chunks" if heads > 1 else " each is used whole")
    + f" of d_head = {cfg.d_head}, and each head attends on its own. The scale is "
    f"1 / (√d_head · temperature) = {att.scale:.4f}.")

if ss.get("at_head") not in range(heads):  # fewer heads than before: back to the first
    ss["at_head"] = 0
st.segmented_control("Head", tuple(range(heads)), key="at_head", required=True, format_func=lambda h: f"head {h}")
h = ss["at_head"]
c = st.columns(3)
for col, name, t in zip(c, ("Q", "K", "V"), (att.q, att.k, att.v), strict=True):
    col.plotly_chart(figures.heat(t[h], title=f"{name} (head {h}: T × d_head)", rows=labels, col_title="dim"),
                     key=f"at_{name.lower()}_fig")
c = st.columns(3) if len(tokens) <= 8 else [*st.columns(2), *st.columns(2)]  # T x T maps: wider when long
c[0].plotly_chart(figures.heat(att.scores[h], title="scores = Q Kᵀ · scale", rows=labels, cols=labels,
                               row_title="query", col_title="key"), key="at_scores_fig")
above = att.masked[h].isinf()
c[1].plotly_chart(figures.heat(att.scores[h], title="masked scores" if cfg.causal else "masked scores (no mask)",
                               rows=labels, cols=labels, row_title="query", col_title="key", blank=above,
                               blank_text="−∞"), key="at_masked_fig")
c[2].plotly_chart(figures.heat(att.weights[h], title="weights = softmax(row)", rows=labels, cols=labels,
                               row_title="query", col_title="key", diverging=False, zrange=(0, 1)),
                  key="at_weights_fig")
(c[3] if len(c) > 3 else st).markdown(  # beside the weights when the maps take two rows
    "**Reading the matrices.** Row = the token that looks (query), column = the token it looks at (key). "
    "Each score is a dot product: large when query and key point the same way. **Temperature** divides every "
    "score before the softmax: at 0.1 each row puts almost all its weight on its largest score (close to an "
    "argmax), at 5 the weights flatten towards 1 / (number of visible keys). The **causal mask** sets the scores "
    "above the diagonal to −∞ before the softmax, so their weights are exactly 0 and each row shares its weight "
    "among itself and the tokens before it: the first token can only look at itself (weight 1). A language "
    "model needs this, or it could read the word it is asked to predict.")
c = st.columns(2)
c[0].plotly_chart(figures.heat(att.heads_out[h], title=f"weights @ V (head {h}: T × d_head)", rows=labels,
                               col_title="dim"), key="at_head_out_fig")
c[1].plotly_chart(figures.heat(att.out, title="output: concat(heads) @ W_o (T × d_model)", rows=labels,
                               col_title="dim"), key="at_out_fig")
st.caption("Each output row is a weighted average of the value rows, with that row's weights. The heads' outputs "
           "are put side by side (T × d_model) and mixed by W_o. `F.scaled_dot_product_attention` does the "
           "scores, mask, softmax and average in one call; `nn.MultiheadAttention` adds the projections.")
code_panel(r["code"])
