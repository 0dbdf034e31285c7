import numpy as np
import streamlit as st

from core import embeddings
from core.embeddings import EmbeddingConfig
from core.parsing import InputError, parse_ints
from ui import figures_sequences as figures
from ui import links
from ui.common import code_panel, fail, header

LABELS = {"lookup": "a lookup table", "positions": "positional encodings"}  # part -> label
MAX_IDS = 16
DIMS = (8, 16, 32, 64, 128)
BASES = (100, 1000, 10000, 100000)
PARAMS = {
    "em_part": links.Choice("lookup", tuple(LABELS)),
    "em_vocab": links.Int(10, 2, 30),
    "em_dim": links.Int(8, 2, 16),
    "em_ids": links.Text("3, 1, 4, 1, 5", max_len=120, refused=("3, x", "3, 99"), accepted="0, 2, 2, 7"),
    "em_seed": links.Int(0, 0, 10_000),
    "em_positions": links.Int(32, MAX_IDS, 128),
    "em_pdim": links.Choice(32, DIMS),
    "em_base": links.Choice(10000, BASES),
}

links.bind(PARAMS)
header("Embeddings & positions", "A model cannot multiply a word. It gives each token id a row of a table, "
       "`nn.Embedding(V, d)`, and learns the rows. Type token ids and see that the lookup is exactly a one-hot "
       "vector times the table. Then give each **position** a vector too: attention alone does not see order, so "
       "position t's vector is added to the token at t. Compare the sinusoids of *Attention is all you need* with "
       "a learned table.")
st.segmented_control("Part", tuple(LABELS), key="em_part", required=True, format_func=lambda p: LABELS.get(p, p))
ss = st.session_state


def _config(dim: int) -> EmbeddingConfig:
    ids = tuple(parse_ints(ss["em_ids"], max_len=MAX_IDS))
    cfg = EmbeddingConfig(vocab=ss["em_vocab"], dim=dim, ids=ids, positions=ss["em_positions"],
                          base=float(ss["em_base"]), seed=ss["em_seed"])
    cfg.check()
    return cfg


@st.cache_data(max_entries=64, show_spinner=False)
def _lesson(cfg: EmbeddingConfig) -> dict:
    look = embeddings.lookup(cfg)
    pe = embeddings.sinusoidal(cfg.positions, cfg.dim, cfg.base)  # (T, d)
    learned = embeddings.learned_positions(cfg.positions, cfg.dim, cfg.seed + 1).weight.detach()  # (T, d)
    sims = {"sinusoidal": embeddings.similarity(pe).numpy(), "learned": embeddings.similarity(learned).numpy()}
    # how much sim[i, i + k] varies along each diagonal k: ~0 when similarity depends on the offset k only
    spread = {name: max(float(np.ptp(s.diagonal(k))) for k in range(len(s) - 1)) for name, s in sims.items()}
    return dict(look=look, pe=pe, learned=learned, sims=sims, spread=spread,
                wavelengths=embeddings.wavelengths(cfg.dim, cfg.base),
                code=embeddings.embeddings_code(cfg, look, pe))


def lookup_part():
    c = st.columns([1, 1, 2, 1])
    c[0].slider("vocabulary V", 2, 30, key="em_vocab", help="How many different token ids: the rows of the table")
    c[1].slider("dimension d", 2, 16, key="em_dim", help="The length of each token's vector")
    c[2].text_input(f"token ids (0 to V − 1, at most {MAX_IDS}, comma-separated)", key="em_ids")
    c[3].number_input("seed", 0, 10_000, key="em_seed", help="Draws the table: N(0, 1), nn.Embedding's own init")
    try:
        cfg = _config(ss["em_dim"])
    except InputError as exc:
        message = str(exc) if str(exc).startswith("Token id") else f"Token ids: {exc}"
        fail(f"{message} For example: 3, 1, 4, 1, 5")
    r = _lesson(cfg)
    look = r["look"]
    m = st.columns(4)
    m[0].metric("max difference", f"{look.max_difference:.1e}",
                help="max |emb(ids) − F.one_hot(ids, V).float() @ emb.weight|: exactly 0, each one-hot row picks "
                     "one row of the table and adds nothing else")
    m[1].metric("emb.weight", str(tuple(look.weight.shape)), help="(V, d): one row per token id")
    m[2].metric("parameters", f"{look.weight.numel():,}", help="V × d, all trained")
    m[3].metric("tokens T", str(len(cfg.ids)))
    rows = [f"{t}: id {i}" for t, i in enumerate(cfg.ids)]
    v, d = cfg.vocab, cfg.dim
    c = st.columns([v + 3, d + 3, d + 3])  # widths follow the matrices' columns
    c[0].plotly_chart(figures.heat(look.one_hot, title="one_hot (T × V)", rows=rows, col_title="token id",
                                   diverging=False, zrange=(0, 1), fmt=".0f"), key="em_onehot_fig")
    c[1].plotly_chart(figures.heat(look.weight, title="emb.weight (V × d)", row_title="token id", col_title="dim",
                                   marked_rows=cfg.ids, fmt=".1f"), key="em_weight_fig")
    c[2].plotly_chart(figures.heat(look.looked_up, title="emb(ids) (T × d)", rows=rows, col_title="dim", fmt=".1f"),
                      key="em_lookup_fig")
    st.markdown("**What to notice.** Each row of `one_hot` has a single 1, at column `id`; multiplied by the table "
                "it picks that row (outlined in red) and nothing else, so `emb(ids)` equals `one_hot @ W` exactly. "
                "`nn.Embedding` skips the multiplication: it indexes, `W[ids]`, which is cheaper by a factor of V. "
                "The same id gives the same vector wherever it appears. Training moves only the rows that were "
                "looked up: the gradient of the unused rows is 0.")
    code_panel(r["code"])


def positions_part():
    c = st.columns([2, 1.3, 1.3, 1])
    c[0].slider("positions T", MAX_IDS, 128, key="em_positions")
    c[1].select_slider("dimension d", DIMS, key="em_pdim")
    c[2].select_slider("base", BASES, key="em_base", help="The paper uses 10,000: wavelengths from 2π to 2π·base")
    c[3].number_input("seed", 0, 10_000, key="em_seed", help="Draws the learned table (before any training)")
    try:
        cfg = _config(ss["em_pdim"])
    except InputError:  # the ids of the other part are not valid: its code panel uses the default ones
        cfg = EmbeddingConfig(dim=ss["em_pdim"], positions=ss["em_positions"], base=float(ss["em_base"]),
                              seed=ss["em_seed"])
    r = _lesson(cfg)
    wl, sin_sim, learned_sim = r["wavelengths"], r["sims"]["sinusoidal"], r["sims"]["learned"]
    m = st.columns(4)
    m[0].metric("shortest wavelength", f"{float(wl[0]):.2f}", help="Columns 0 and 1 turn once every 2π positions")
    m[1].metric("longest wavelength", f"{float(wl[-1]):,.0f}", help="2π·base^((d − 2)/d) positions per cycle")
    m[2].metric("neighbours' cos sim", f"{float(np.diag(sin_sim, 1).mean()):.3f}",
                help="Sinusoidal: mean cosine similarity of positions t and t + 1")
    m[3].metric("… learned (untrained)", f"{float(np.diag(learned_sim, 1).mean()):.3f}",
                help="The same for the learned table before training: random vectors, about 0")
    c = st.columns(2)
    c[0].plotly_chart(figures.heat(r["pe"], title="Sinusoidal PE (T × d)", row_title="position",
                                   col_title="dim", zrange=(-1, 1)), key="em_pe_fig")
    c[1].plotly_chart(figures.heat(r["learned"], title="Learned nn.Embedding(T, d), untrained", row_title="position",
                                   col_title="dim", zrange=(-3, 3)), key="em_learned_fig")
    st.plotly_chart(figures.wavelengths(wl, cfg.positions), key="em_wavelengths_fig")
    c = st.columns(2)
    c[0].plotly_chart(figures.heat(sin_sim, title="Cosine similarity between positions: sinusoidal",
                                   row_title="position", col_title="position", zrange=(-1, 1), text=False),
                      key="em_sin_sim_fig")
    c[1].plotly_chart(figures.heat(learned_sim, title="… learned (untrained)", row_title="position",
                                   col_title="position", zrange=(-1, 1), text=False), key="em_learned_sim_fig")
    st.markdown(
        "**What to notice.** Column pair i of the sinusoidal table is sin and cos of `t / base^(2i/d)`: the first "
        "columns flip every few positions, the last ones barely move across the whole window (their wavelength is "
        "far above T, the dashed line), like the hands of a clock from seconds to days. Nearby positions get "
        "similar vectors, and the similarity of t and t + k depends on the offset k only (it varies by "
        f"{r['spread']['sinusoidal']:.1e} along each diagonal), so a layer can read relative positions. The "
        f"learned table starts as noise (its diagonals vary by {r['spread']['learned']:.2f}): any order it "
        "knows comes from training, and it has no row for a position beyond T.")
    code_panel(r["code"])


PARTS = {"lookup": lookup_part, "positions": positions_part}
PARTS[ss["em_part"] or "lookup"]()
