import streamlit as st

from core import landscapes, optimizer_lab, update_rules
from core.optim_config import OPTIMIZERS, RunConfig, Schedule
from core.parsing import InputError
from ui import budget, links
from ui import figures_optim as figures
from ui.common import code_panel, fail, header

header(
    "Optimizer lab",
    "Pick a function of two variables and a start point, then race the real `torch.optim` optimizers "
    "across it: each one updates a 2-element tensor `(x, y)` with `loss.backward()` and `optimizer.step()`, "
    "exactly as in the code at the bottom. Watch momentum overshoot and roll on, Adam take steps of almost "
    "equal size, and a learning rate that is too large blow up. **Click the map** to start somewhere else.",
)

LR_CHOICES = figures.LR_CHOICES
SLUG = {"SGD": "sgd", "SGD+momentum": "momentum", "Nesterov": "nesterov", "Adagrad": "adagrad",
        "RMSprop": "rmsprop", "Adam": "adam", "AdamW": "adamw"}
FUNCTIONS = (*landscapes.LANDSCAPES, landscapes.CUSTOM)
SCHEDULES = {"none": "none", "StepLR": "step", "cosine": "cosine"}

PARAMS: dict[str, links.Param] = {
    "ol_fn": links.Choice("Himmelblau", options=FUNCTIONS),
    "ol_expr": links.Text(figures.DEFAULT_FORMULA, max_len=200, refused=("lambda x: x", "1/0"), accepted="x**2 + y**2",
                          shown_with=(("ol_fn", landscapes.CUSTOM),)),
    "ol_range": links.Float(5.0, 1.0, 20.0),
    "ol_x0": links.Float(0.0, -20.0, 20.0),
    "ol_y0": links.Float(0.0, -20.0, 20.0),
    "ol_steps": links.Int(500, 10, 5000),
    "ol_opts": links.Multi(["SGD", "SGD+momentum", "Adam"], options=tuple(OPTIMIZERS)),
    "ol_sched": links.Choice("none", options=tuple(SCHEDULES)),
    "ol_sched_every": links.Int(100, 10, 2000),
    "ol_sched_gamma": links.Float(0.5, 0.05, 0.95),
}
for _name, _kind in OPTIMIZERS.items():
    _s = SLUG[_name]
    PARAMS[f"ol_lr_{_s}"] = figures.LearningRate(_kind.lr, options=LR_CHOICES)
    if "momentum" in _kind.settings:
        PARAMS[f"ol_mom_{_s}"] = links.Float(_kind.momentum, 0.0, 0.99)
    if "nesterov" in _kind.settings:
        PARAMS[f"ol_nest_{_s}"] = links.Bool(_kind.nesterov)
    if "beta1" in _kind.settings:
        PARAMS[f"ol_beta1_{_s}"] = links.Float(0.9, 0.0, 0.99)
    if "weight_decay" in _kind.settings:
        PARAMS[f"ol_wd_{_s}"] = links.Float(0.01, 0.0, 1.0)


def current_landscape() -> landscapes.Landscape:
    """The chosen function; raises InputError when the learner's formula is refused."""
    name = st.session_state.get("ol_fn", "Himmelblau")
    if name == landscapes.CUSTOM:
        return landscapes.custom_landscape(st.session_state.get("ol_expr", ""),
                                           st.session_state.get("ol_range", 5.0))
    return landscapes.LANDSCAPES[name]


def suggest() -> None:
    """Load the function's start point and the learning rates that show it well (a widget callback)."""
    try:
        land = current_landscape()
    except InputError:
        return
    st.session_state["ol_x0"], st.session_state["ol_y0"] = land.start
    for name, lr in land.lrs:
        st.session_state[f"ol_lr_{SLUG[name]}"] = lr


def start_from_click() -> None:
    """A click on the map selects a point of the hidden grid (or of a path): start from there."""
    try:
        land = current_landscape()
    except InputError:
        return
    point = figures.start_from_selection(st.session_state.get("ol_contour"), land.xlim, land.ylim)
    if point is not None:
        st.session_state["ol_x0"], st.session_state["ol_y0"] = point


@st.cache_data(max_entries=16, show_spinner=False)
def landscape_grid(text: str, xlim: tuple, ylim: tuple, n: int):
    return landscapes.grid_values(landscapes.formula(text), xlim, ylim, n)


def race(land: landscapes.Landscape, start: tuple, configs: tuple, steps: int, schedule: Schedule):
    """The paths and the results table; kept for every session; with progress and Cancel when it takes long."""
    def work(progress):
        trajectories = optimizer_lab.run(land.f, start, configs, steps, schedule=schedule, bound=land.bound,
                                         progress=progress)
        return trajectories, optimizer_lab.summary(trajectories, land)

    what = ("race", land.name, land.formula, land.xlim, land.ylim, land.bound, land.minima, start, configs, steps,
            schedule)
    return budget.compute(what, work, seconds=optimizer_lab.run_seconds(len(configs), steps),
                          label="Running the optimizers", key="ol_cancel")


links.bind(PARAMS)
controls, charts = st.columns([1, 2.1], gap="large")

with controls:
    st.selectbox("Function", FUNCTIONS, key="ol_fn", on_change=suggest,
                 help="Switching the function loads its start point and suggested learning rates.")
    if st.session_state["ol_fn"] == landscapes.CUSTOM:
        st.text_input("f(x, y) =", key="ol_expr", max_chars=200,
                      help="Numbers, x, y, pi, e, + - * / ** (or ^), brackets and sin, cos, tan, exp, log, sqrt, "
                           "abs, tanh ... Anything else is refused.")
        st.slider("Plot range: x and y in [-r, r]", 1.0, 20.0, step=0.5, key="ol_range")
    try:
        landscape = current_landscape()
    except InputError as exc:
        fail(f"This formula cannot be used: {exc}")
    st.caption(f"f(x, y) = `{landscape.formula}`" + (f"  \n{landscape.note}" if landscape.note else ""))

    for key, (lo, hi) in (("ol_x0", landscape.xlim), ("ol_y0", landscape.ylim)):
        st.session_state[key] = min(max(float(st.session_state[key]), lo), hi)  # keep the start on the map
    c1, c2 = st.columns(2)
    c1.slider("Start x", landscape.xlim[0], landscape.xlim[1], step=0.01, key="ol_x0")
    c2.slider("Start y", landscape.ylim[0], landscape.ylim[1], step=0.01, key="ol_y0")
    st.slider("Steps", 10, 5000, step=10, key="ol_steps")
    st.multiselect("Optimizers", list(OPTIMIZERS), key="ol_opts", wrap=True,
                   help="Each optimizer runs on its own copy of (x, y), from the same start.")
    selected = [name for name in OPTIMIZERS if name in st.session_state["ol_opts"]]

    configs = []
    for name in selected:
        kind, s = OPTIMIZERS[name], SLUG[name]
        with st.expander(f"{name} settings", expanded=len(selected) <= 2):
            st.select_slider("Learning rate (log scale)", LR_CHOICES, key=f"ol_lr_{s}", format_func=lambda v: f"{v:g}")
            kw = {}
            if "momentum" in kind.settings:
                kw["momentum"] = st.slider("Momentum", 0.0, 0.99, step=0.01, key=f"ol_mom_{s}")
            if "nesterov" in kind.settings:
                kw["nesterov"] = st.checkbox("Nesterov", key=f"ol_nest_{s}",
                                             help="Take the gradient after the momentum step (needs momentum > 0).")
            if "beta1" in kind.settings:
                kw["beta1"] = st.slider("beta1 (momentum of the gradient average)", 0.0, 0.99, step=0.01,
                                        key=f"ol_beta1_{s}")
            if "weight_decay" in kind.settings:
                kw["weight_decay"] = st.slider("Weight decay (decoupled)", 0.0, 1.0, step=0.01, key=f"ol_wd_{s}")
            configs.append(RunConfig(name, lr=st.session_state[f"ol_lr_{s}"], **kw))

    st.selectbox("Learning-rate schedule", list(SCHEDULES), key="ol_sched")
    if st.session_state["ol_sched"] == "StepLR":
        c1, c2 = st.columns(2)
        c1.number_input("every (steps)", 10, 2000, step=10, key="ol_sched_every")
        c2.slider("multiply lr by", 0.05, 0.95, step=0.05, key="ol_sched_gamma")
    schedule = Schedule(SCHEDULES[st.session_state["ol_sched"]], int(st.session_state["ol_sched_every"]),
                                float(st.session_state["ol_sched_gamma"]))
    st.button("Suggested start and learning rates", on_click=suggest, key="ol_suggest",
              icon=":material/auto_fix_high:")

start = (float(st.session_state["ol_x0"]), float(st.session_state["ol_y0"]))
steps = int(st.session_state["ol_steps"])

with charts:
    if not configs:
        fail("Choose at least one optimizer.")
    try:
        trajectories, rows = race(landscape, start, tuple(configs), steps, schedule)
    except InputError as exc:
        fail(str(exc))

    grid = landscape_grid(landscape.formula, landscape.xlim, landscape.ylim, 121)
    st.plotly_chart(figures.contour(landscape, grid, trajectories, start), key="ol_contour", on_select=start_from_click,
                    selection_mode="points", config={"scrollZoom": False, "displaylogo": False})
    st.caption("Click any point of the map to start from there. Stars: the minima; ✕: where a path diverged.")
    for t in trajectories:
        if t.diverged_at is not None:
            st.warning(f"**{t.config.optimizer}** ({t.config.describe()}) diverged at step {t.diverged_at}: "
                       f"{t.reason}. Its path stops at the last finite point (✕).",
                       icon=":material/warning:")

    # Only the open tab is drawn (each figure costs time on every rerun).
    loss_tab, surface_tab = st.tabs(["Loss vs step", "3D surface"], key="ol_view", on_change="rerun")
    if loss_tab.open is not False:
        with loss_tab:
            fig, log_y, zeros = figures.loss_curves(trajectories)
            st.plotly_chart(fig, key="ol_loss")
            if not log_y:
                st.caption("Some losses are negative, so the axis is linear.")
            elif zeros:
                st.caption(f"{', '.join(zeros)} reached f = 0 exactly (in float32); a log axis cannot show 0, so "
                           "the curve stops there.")
    if surface_tab.open:
        with surface_tab:
            grid3d = landscape_grid(landscape.formula, landscape.xlim, landscape.ylim, 61)
            st.plotly_chart(figures.surface(landscape, grid3d, trajectories), key="ol_surface")
            st.caption("Height and colour: f on a log scale, so that the minima show as deep wells.")

st.dataframe(
    rows, hide_index=True,
    column_config={
        "final x": st.column_config.NumberColumn(format="%.5f"),
        "final y": st.column_config.NumberColumn(format="%.5f"),
        "final loss": st.column_config.NumberColumn(format="%.3e"),
        "|grad| at end": st.column_config.NumberColumn(format="%.2e"),
        "steps to within 1e-3": st.column_config.NumberColumn(
            help="The step after which the path stays within 1e-3 of the minimum it reached."),
    })
code_panel(optimizer_lab.lab_code(landscape, start, trajectories, steps, schedule))


@st.cache_data(max_entries=32, show_spinner=False)
def _rules(formula: str, config: RunConfig, start: tuple) -> list[update_rules.RuleStep]:
    return update_rules.by_hand(config, landscapes.formula(formula), start, steps=2)


with st.expander("The update rules, written out: the first two steps by hand next to torch.optim",
                 icon=":material/function:"):
    st.caption("From the start point, in float64. g is the gradient at the current point; every buffer starts "
               "at 0 (torch's momentum buffer starts at the first gradient).")
    for config in configs:
        steps_ = _rules(landscape.formula, config, start)
        st.markdown(f"**{config.optimizer}** ({config.describe()})")
        st.latex(update_rules.RULES[config.optimizer])
        table = []
        for r in steps_:
            table.append({"step": r.step, "quantity": "g", "x": r.grad[0], "y": r.grad[1]})
            table += [{"step": r.step, "quantity": k, "x": v[0], "y": v[1]} for k, v in r.state.items()]
            table.append({"step": r.step, "quantity": "θ by the formula", "x": r.by_hand[0], "y": r.by_hand[1]})
            table.append({"step": r.step, "quantity": "θ from optimizer.step()", "x": r.torch[0], "y": r.torch[1]})
        st.dataframe(table, hide_index=True, width="stretch", key=f"ol_rule_{SLUG[config.optimizer]}",
                     column_config={"x": st.column_config.NumberColumn(format="%.10g"),
                                    "y": st.column_config.NumberColumn(format="%.10g")})
        st.caption(f"Largest difference between the formula and torch.optim: {max(r.gap for r in steps_):.1e}.")
