import streamlit as st

from core import descent1d
from ui import figures_functions as figures
from ui import links
from ui.common import code_panel, header

NAMES = tuple(descent1d.FUNCTIONS_1D)
PARAMS = {
    "gd_fn": links.Choice("x^2 sin(x)", options=NAMES),
    "gd_x0": links.Float(3.0, -6.0, 6.0),
    "gd_lr": links.Float(0.02, 0.001, 1.5),
    "gd_steps": links.Int(60, 1, 200),
}
PLAY_INTERVAL_S = 0.3

header("Gradient descent in 1D", "Gradient descent repeats one line: **x ← x − lr · f'(x)**, with f'(x) from "
       "autograd. Pick a function, a start and a learning rate, then step through the iterates. Too small a "
       "learning rate crawls, a good one settles, a large one oscillates across the minimum, and a huge one "
       "throws x further away at every step.")
links.bind(PARAMS)


def _preset(x0: float, lr: float) -> None:
    st.session_state["gd_x0"] = x0
    st.session_state["gd_lr"] = lr


c1, c2, c3, c4 = st.columns(4)
name = c1.selectbox("function", NAMES, key="gd_fn")
x0 = c2.slider("start x₀", -6.0, 6.0, step=0.1, key="gd_x0")
lr = c3.slider("learning rate lr", 0.001, 1.5, step=0.001, format="%.3f", key="gd_lr")
steps = c4.slider("steps", 1, 200, key="gd_steps")

spec = descent1d.FUNCTIONS_1D[name]
cols = st.columns([1, 1, 1, 1, 2])
for col, (behaviour, p_x0, p_lr) in zip(cols, spec.presets, strict=False):
    col.button(f"{behaviour} (lr {p_lr:g})", key=f"gd_preset_{behaviour.replace(' ', '_')}", on_click=_preset,
               args=(p_x0, p_lr), width="stretch", help=f"x₀ = {p_x0:g}, lr = {p_lr:g}")
st.latex(spec.latex)


@st.cache_data(max_entries=128, show_spinner=False)
def _descent(name: str, x0: float, lr: float, steps: int):
    return descent1d.gradient_descent_1d(name, x0, lr, steps)


@st.cache_data(max_entries=128, show_spinner=False)
def _curve(name: str, lo: float, hi: float):
    return descent1d.function_curve(name, lo, hi, 800)


result = _descent(name, x0, lr, steps)
last = len(result.xs) - 1

{"converged": st.success, "oscillating": st.warning, "moving": st.info, "diverged": st.error}[result.status](
    result.message, icon={"converged": ":material/check:", "oscillating": ":material/swap_horiz:",
                          "moving": ":material/hourglass_top:", "diverged": ":material/error:"}[result.status])
if result.diverged_at is not None:
    st.caption(f"Only the {last + 1} finite iterates before step {result.diverged_at} are drawn.")

# The drawn range: the function's usual view, widened to take in the iterates, but at most 4x wider.
view_lo, view_hi = spec.view
half = (view_hi - view_lo) / 2
mid = (view_hi + view_lo) / 2
lo = max(min(view_lo, float(result.xs.min()) - 0.3), mid - 4 * half)
hi = min(max(view_hi, float(result.xs.max()) + 0.3), mid + 4 * half)
curve = _curve(name, round(lo, 2), round(hi, 2))
outside = int(((result.xs < lo) | (result.xs > hi)).sum())

# A new run shows all its iterates; the step slider then walks back and forth through them.
signature = (name, x0, lr, steps)
if st.session_state.get("gd_signature") != signature:
    st.session_state["gd_signature"] = signature
    st.session_state["gd_step"] = last
    st.session_state["gd_playing"] = False
st.session_state["gd_step"] = min(st.session_state.get("gd_step", last), last)


def _toggle_play() -> None:
    playing = not st.session_state.get("gd_playing", False)
    st.session_state["gd_playing"] = playing
    if playing and st.session_state.get("gd_step", 0) >= last:
        st.session_state["gd_step"] = 0  # play from the start


playing = st.session_state.get("gd_playing", False)
st.button("Pause" if playing else "Play the iterates", key="gd_play", on_click=_toggle_play,
          icon=":material/pause:" if playing else ":material/play_arrow:", disabled=last == 0)


st.session_state["gd_tick"] = False  # the fragment advances only on its timer, not in a full run


@st.fragment(run_every=PLAY_INTERVAL_S if playing else None)
def _stepper() -> None:
    if st.session_state.get("gd_playing") and st.session_state.get("gd_tick"):
        if st.session_state["gd_step"] >= last:
            st.session_state["gd_playing"] = False
            st.rerun()  # a full rerun stops the timer and turns the button back into Play
        st.session_state["gd_step"] += 1
    st.session_state["gd_tick"] = True
    k = st.slider("show step k", 0, max(last, 1), key="gd_step", disabled=last == 0)
    k = min(k, last)
    grad = float(result.grads[k])
    cols = st.columns(4)
    cols[0].metric("x_k", f"{float(result.xs[k]):.5g}")
    cols[1].metric("f(x_k)", f"{float(result.fs[k]):.5g}")
    cols[2].metric("f'(x_k) (autograd)", f"{grad:.5g}")
    cols[3].metric("next move −lr · f'(x_k)", f"{-lr * grad:.5g}")
    st.plotly_chart(figures.descent(curve, result, k), key="gd_fig")
    if outside:
        st.caption(f"{outside} iterate(s) lie outside the drawn part of the curve (lines leaving the plot lead to "
                   "them); the charts below show all of them.")
    st.plotly_chart(figures.descent_progress(result, k), key="gd_progress_fig")


_stepper()
code_panel(descent1d.gradient_descent_code(name, x0, steps, result))
