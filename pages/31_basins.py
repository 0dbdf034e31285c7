import numpy as np
import streamlit as st

from core import basins, landscapes
from core.optim_config import OPTIMIZERS, RunConfig, default_config
from core.parsing import InputError
from ui import budget, links
from ui import figures_optim as figures
from ui.common import code_panel, fail, header

header(
    "Basins of attraction",
    "Which minimum gradient descent finds depends on where it starts. Here one optimizer starts from **every "
    "cell of a grid at once**: each start is one row of an `(n², 2)` tensor of parameters, and because "
    "`torch.optim` updates every element on its own, each row follows exactly the path it would follow alone. "
    "Each cell takes the colour of the minimum its path ends at: the whole plane, split into basins.",
)

LR_CHOICES = figures.LR_CHOICES
FUNCTIONS = (*landscapes.LANDSCAPES, landscapes.CUSTOM)

PARAMS: dict[str, links.Param] = {
    "bs_fn": links.Choice("Himmelblau", options=FUNCTIONS),
    "bs_expr": links.Text(figures.DEFAULT_FORMULA, max_len=200, refused=("lambda x: x", "1/0"), accepted="x**2 + y**2",
                          shown_with=(("bs_fn", landscapes.CUSTOM),)),
    "bs_range": links.Float(5.0, 1.0, 20.0),
    "bs_opt": links.Choice("SGD", options=tuple(OPTIMIZERS)),
    "bs_lr": figures.LearningRate(1e-3, options=LR_CHOICES),
    "bs_mom": links.Float(0.0, 0.0, 0.99),
    "bs_steps": links.Int(500, 10, 3000),
    "bs_n": links.Int(40, 10, 80),
}


def current_landscape() -> landscapes.Landscape:
    name = st.session_state.get("bs_fn", "Himmelblau")
    if name == landscapes.CUSTOM:
        return landscapes.custom_landscape(st.session_state.get("bs_expr", ""),
                                           st.session_state.get("bs_range", 5.0))
    return landscapes.LANDSCAPES[name]


def suggest() -> None:
    """A new function or optimizer: load the learning rate (and momentum) that suit them (a widget callback)."""
    name = st.session_state.get("bs_opt", "SGD")
    try:
        land = current_landscape()
    except InputError:
        land = None
    default = default_config(name, land)
    st.session_state["bs_lr"] = default.lr
    st.session_state["bs_mom"] = default.momentum


@st.cache_data(max_entries=16, show_spinner=False)
def landscape_grid(text: str, xlim: tuple, ylim: tuple, n: int):
    return landscapes.grid_values(landscapes.formula(text), xlim, ylim, n)


def basin_map(land: landscapes.Landscape, config: RunConfig, n: int, steps: int):
    """The map and the minima it found; kept for every session; with progress and Cancel when it takes long."""
    def work(progress):
        result = basins.basin_map(land.f, config, land.xlim, land.ylim, n, steps, bound=land.bound,
                                  progress=progress)
        return result, basins.endpoint_clusters(result, land.minima)

    what = ("basins", land.name, land.formula, land.xlim, land.ylim, land.bound, land.minima, config, n, steps)
    return budget.compute(what, work, seconds=basins.basin_seconds(n, steps), label="Running every start",
                          key="bs_cancel")


links.bind(PARAMS)
controls, chart = st.columns([1, 2.1], gap="large")

with controls:
    st.selectbox("Function", FUNCTIONS, key="bs_fn", on_change=suggest)
    if st.session_state["bs_fn"] == landscapes.CUSTOM:
        st.text_input("f(x, y) =", key="bs_expr", max_chars=200,
                      help="Numbers, x, y, pi, e, + - * / ** (or ^), brackets and sin, cos, tan, exp, log, sqrt, "
                           "abs, tanh ... Anything else is refused.")
        st.slider("Plot range: x and y in [-r, r]", 1.0, 20.0, step=0.5, key="bs_range")
    try:
        landscape = current_landscape()
    except InputError as exc:
        fail(f"This formula cannot be used: {exc}")
    st.caption(f"f(x, y) = `{landscape.formula}`" + (f"  \n{landscape.note}" if landscape.note else ""))
    st.slider("Grid: n x n starts", 10, 80, step=2, key="bs_n")
    st.selectbox("Optimizer", list(OPTIMIZERS), key="bs_opt", on_change=suggest)
    kind = OPTIMIZERS[st.session_state["bs_opt"]]
    st.select_slider("Learning rate (log scale)", LR_CHOICES, key="bs_lr", format_func=lambda v: f"{v:g}")
    if "momentum" in kind.settings:
        st.slider("Momentum", 0.0, 0.99, step=0.01, key="bs_mom")
    st.slider("Steps", 10, 3000, step=10, key="bs_steps")

n, steps = int(st.session_state["bs_n"]), int(st.session_state["bs_steps"])
config = RunConfig(kind.name, lr=float(st.session_state["bs_lr"]),
                           momentum=float(st.session_state["bs_mom"]) if "momentum" in kind.settings else 0.0,
                           nesterov=kind.nesterov)

with chart:
    try:
        result, found = basin_map(landscape, config, n, steps)
    except InputError as exc:
        fail(str(exc))
    known = len(landscape.minima)
    categories = basins.basin_categories(result, (*landscape.minima, *found))
    values, counts = np.unique(categories, return_counts=True)
    count = {int(v): int(c) for v, c in zip(values, counts, strict=True)}
    grid = landscape_grid(landscape.formula, landscape.xlim, landscape.ylim, 121)
    st.plotly_chart(figures.basins(result, categories, landscape, found, grid), key="bs_map")
    table = [{"ends at": label, "starts": n, "share": n / categories.size}
             for label, n, _ in figures.basin_legend(count, landscape, found)]
    st.dataframe(table, hide_index=True,
                 column_config={"share": st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1)})
    reached = sum(count.get(i, 0) for i in range(known))
    if known:
        st.caption(f"{reached} of {categories.size} starts ({reached / categories.size:.1%}) end within "
                   f"{landscapes.REACH_TOL:g} of a marked minimum after {steps} steps.")
    if count.get(basins.DIVERGED):
        st.warning(f"{count[basins.DIVERGED]} starts diverged (black): their steps grew until the point left the "
                   "landscape or overflowed. Try a smaller learning rate.", icon=":material/warning:")
    if count.get(basins.WANDERING, 0) > 0.2 * categories.size:
        st.info("Many paths are still moving after the last step (light grey): add steps or raise the learning "
                "rate.", icon=":material/info:")

code_panel(basins.basins_code(landscape, result, config, steps))
