import streamlit as st

from core import playground_data
from core.parsing import InputError
from core.playground import ACTIVATIONS, INITS, OPTIMIZERS, NetConfig, Playground
from core.playground_code import export_code
from core.shared_server import shared
from ui import figures_playground as figures
from ui import links
from ui import playground_parts as parts
from ui.common import code_panel, fail, header

LRS = (0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
RATES = (0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
FEATURES = tuple(playground_data.FEATURES)
PARAMS = {
    "pg_data": links.Choice("circles", options=tuple(playground_data.DATASETS)),
    "pg_classes": links.Int(3, 3, 5),
    "pg_noise": links.Float(0.1, 0.0, 0.5),
    "pg_n": links.Int(400, 20, playground_data.MAX_POINTS),
    "pg_test": links.Float(0.5, 0.1, 0.9),
    "pg_seed": links.Int(0, 0, 9999),
    "pg_points": links.Text("", max_len=4000),
    "pg_removed": links.Text("", max_len=4000),
    "pg_features": links.Multi(["x1", "x2"], options=FEATURES),
    "pg_layers": links.Text("4,2", max_len=40, refused=("9", "4,x"), accepted="8,8"),
    "pg_act": links.Choice("tanh", options=tuple(ACTIVATIONS)),
    "pg_init": links.Choice("default", options=INITS),
    "pg_sigma": links.Float(1.0, 0.01, 5.0),
    "pg_bn": links.Bool(False),
    "pg_dropout": links.Float(0.0, 0.0, 0.9),
    "pg_optimizer": links.Choice("sgd", options=tuple(OPTIMIZERS)),
    "pg_lr": links.Choice(0.03, options=LRS),
    "pg_momentum": links.Float(0.0, 0.0, 0.99),
    "pg_reg": links.Choice("none", options=("none", "L1", "L2")),
    "pg_rate": links.Choice(0.0, options=RATES),
    "pg_batch": links.Int(10, 1, 100),
    "pg_show_test": links.Bool(True),
    "pg_discretize": links.Bool(False),
}
TICK_S = 0.25 if shared() else 0.1  # a live update while it plays; fewer on a shared server, so a class fits its cores
TRAIN_S = 0.04  # training per update: whole epochs for about this long

links.bind(PARAMS)
ss = st.session_state
header("Neural network playground",
       "A small real `nn.Module` learns to separate 2D points while you watch. The big map shows what the model "
       "answers at every point of the plane; the diagram shows what **each neuron** answers (orange below 0, blue "
       "above) and every weight as an edge (blue positive, orange negative, thicker = larger). Press **Play**, "
       "then change the learning rate, regularisation or dropout while it trains: the next epoch uses them. "
       "Click the map to add points of your own.")

with st.container(horizontal=True, gap="small"):
    st.markdown("**Classic experiments:**")
    for name, (label, _, _) in parts.EXPERIMENTS.items():
        st.button(label, key=f"pg_x_{name}", on_click=parts.use_experiment, args=(name,), type="tertiary",
                  icon=":material/science:")
if ss.get("pg_experiment") in parts.EXPERIMENTS:
    st.info(parts.EXPERIMENTS[ss["pg_experiment"]][2], icon=":material/science:")

# ---- the knobs that may change while it trains
c = st.columns([1.2, 1.6, 1, 1.1, 1, 1.4, 1])
c[0].selectbox("Optimizer", tuple(OPTIMIZERS), key="pg_optimizer", format_func=OPTIMIZERS.get)
c[1].select_slider("Learning rate", LRS, key="pg_lr", format_func=lambda v: f"{v:g}")
c[2].slider("Momentum", 0.0, 0.99, step=0.01, key="pg_momentum", disabled=ss["pg_optimizer"] not in ("sgd", "rmsprop"),
            help="SGD and RMSprop; Adam keeps its own running averages.")
c[3].selectbox("Penalty", ("none", "L1", "L2"), key="pg_reg",
               help="A penalty on the weights added to the loss: L1 = rate·Σ|w|, L2 = rate·Σw².")
c[4].select_slider("Rate", RATES, key="pg_rate", format_func=lambda v: f"{v:g}", disabled=ss["pg_reg"] == "none")
c[5].slider("Dropout", 0.0, 0.9, step=0.05, key="pg_dropout", help="In training only; the maps use eval mode.")
c[6].number_input("Batch size", 1, 100, key="pg_batch")

data_col, main_col = st.columns([1, 4.2], gap="medium")
with data_col:
    st.selectbox("Data", tuple(playground_data.DATASETS), key="pg_data",
                 format_func=lambda k: playground_data.DATASETS[k].label)
    spec = playground_data.DATASETS[ss["pg_data"]]
    if spec.many:
        st.slider("Classes", 3, 5, key="pg_classes")
    st.slider("Noise", 0.0, 0.5, step=0.05, key="pg_noise")
    st.slider("Points", 20, playground_data.MAX_POINTS, step=10, key="pg_n")
    st.slider("Test share", 0.1, 0.9, step=0.05, key="pg_test", help="Of the generated points, kept for testing.")
    st.number_input("Seed", 0, 9999, key="pg_seed", help="Draws the points, the first weights and the batches.")
    st.toggle("Show test points", key="pg_show_test")
    st.toggle("Discrete", key="pg_discretize", help="Colour each point of the plane by its class only (no shades).")
with main_col:
    st.pills("Features", FEATURES, selection_mode="multi", key="pg_features",
             help="What the network gets as inputs, computed from each point (x1, x2).")
    k = st.columns([2.2, 1.1, 1.1, 0.8, 1])
    k[0].text_input("Neurons per hidden layer (0-6 layers of 1-8)", key="pg_layers",
                    help="Empty: no hidden layer, a linear model. Or use the buttons below.")
    k[1].selectbox("Activation", tuple(ACTIVATIONS), key="pg_act")
    k[2].selectbox("Initialisation", INITS, key="pg_init")
    k[3].number_input("σ", 0.01, 5.0, step=0.1, key="pg_sigma", disabled=ss["pg_init"] != "normal",
                      help="The standard deviation of the normal initialisation.")
    k[4].toggle("BatchNorm", key="pg_bn")

try:
    hidden = parts.parse_layers(ss["pg_layers"])
    n_classes = 1 if spec.regression else (ss["pg_classes"] if spec.many else 2)
    own = playground_data.parse_own(ss["pg_points"], n_classes)
    removed = playground_data.parse_ids(ss["pg_removed"], ss["pg_n"])
except InputError as exc:
    fail(f"Hidden layers or points: {exc}")
if not ss["pg_features"]:
    fail("Choose at least one input feature.")
if not links.hidden("pg_layers"):
    with main_col:
        parts.layer_editor(hidden)

data_cfg = playground_data.DataConfig(ss["pg_data"], ss["pg_n"], round(ss["pg_noise"], 2), round(ss["pg_test"], 2),
                                      ss["pg_classes"], ss["pg_seed"], own, removed)
features = tuple(f for f in FEATURES if f in ss["pg_features"])
net_cfg = NetConfig(features, hidden, ss["pg_act"], ss["pg_init"], round(float(ss["pg_sigma"]), 2), ss["pg_bn"])
play: Playground | None = ss.get("pg_play")
if play is None or ss.pop("pg_reset", False) or (play.data, play.net) != (data_cfg, net_cfg):
    play = ss["pg_play"] = Playground(data_cfg, net_cfg, parts.settings())
if not len(play.inputs):
    st.warning("No training points left: add some by clicking the map, or change the data.")


def _play(on: bool) -> None:
    ss["pg_playing"] = on  # a set value, not a toggle: a click Streamlit happens to deliver twice changes nothing


def _reset() -> None:
    ss["pg_reset"], ss["pg_playing"] = True, False


def _step() -> None:
    ss["pg_playing"] = False
    ss["pg_step"] = True


playing = ss.get("pg_playing", False) and not play.status
with data_col:
    b = st.columns(4, gap="small")
    b[0].button("", icon=":material/play_arrow:", key="pg_play_button", on_click=_play, args=(True,),
                help="Play: train epoch after epoch", type="primary", disabled=playing)
    b[1].button("", icon=":material/pause:", key="pg_pause_button", on_click=_play, args=(False,), help="Pause",
                disabled=not playing)
    b[2].button("", icon=":material/skip_next:", key="pg_step_button", on_click=_step, help="One epoch")
    b[3].button("", icon=":material/restart_alt:", key="pg_reset_button", on_click=_reset,
                help="Back to epoch 0 (the same first weights; change the seed for others)")
    if play.regression:
        st.slider("Target of a new point", -1.0, 1.0, 0.5, 0.1, key="pg_target")
    modes = [*range(play.n_classes), "remove"] if not play.regression else ["add", "remove"]
    if ss.get("pg_click") not in modes:
        ss["pg_click"] = modes[0]
    st.radio("A click on the map", modes, key="pg_click", horizontal=True, format_func=lambda m: (
        "removes" if m == "remove" else "adds" if m == "add" else f"adds class {m}"))
    st.caption(f"{len(own)} point(s) of yours, {len(removed)} removed.")
    if own or removed:
        st.button("Forget my points", key="pg_forget", on_click=lambda: ss.update(pg_points="", pg_removed=""))
if ss.pop("pg_step", False) and play.lock.acquire(blocking=False):
    try:
        play.train_epochs(1, parts.settings())
    finally:
        play.lock.release()


@st.fragment(run_every=TICK_S if playing else None)
def live() -> None:
    map_key, net_key = f"pg_map_{ss.get('pg_clicks', 0)}", f"pg_net_{ss.get('pg_node_clicks', 0)}"
    if parts.handle_click(play, map_key):
        st.rerun()
    picked = getattr(getattr(ss.get(net_key), "selection", None), "points", None)
    if picked:
        ss["pg_node_clicks"] = ss.get("pg_node_clicks", 0) + 1
        ss["pg_big"] = parts.node_choice(picked[0], play) or ss.get("pg_big", "none")
        st.rerun(scope="fragment")
    # the state now, not the closure's: a timer tick may still come after Pause, before the page's full run
    training = ss.get("pg_playing", False) and not play.status
    if training and play.lock.acquire(blocking=False):
        try:
            play.train_for(TRAIN_S, parts.settings())
        finally:
            play.lock.release()
        if play.status:
            ss["pg_playing"] = False
            st.rerun()
    maps = play.maps(100)
    output_rgb = figures.output_colours(maps.output, play.regression, ss["pg_discretize"])
    last = play.history[-1]
    net_col, out_col = st.columns([1.1, 1], gap="medium")
    with net_col:
        st.plotly_chart(figures.network(maps.features, maps.neurons, maps.dead, play.weights(), play.net.features,
                                        output_rgb), key=net_key, on_select="rerun", selection_mode="points",
                        config={"displayModeBar": False})
        options = parts.big_options(play)
        if ss.get("pg_big") not in options:
            ss["pg_big"] = "none"
        choice = st.selectbox("Large map of", options, key="pg_big", format_func=options.get)
        if choice != "none":  # drawn on request: every picture redrawn costs the browser time at each update
            st.plotly_chart(parts.big_map(play, maps, choice, output_rgb), key="pg_big_fig",
                            config={"displayModeBar": False})
    with out_col:
        m = st.columns(2) + st.columns(2)
        m[0].metric("Epoch", f"{last.epoch:,}", help=f"{play.steps:,} optimizer steps")
        m[1].metric("Test accuracy", "-" if last.test_acc is None else f"{last.test_acc:.0%}")
        m[2].metric("Train loss", f"{last.train_loss:.3f}")
        m[3].metric("Test loss", f"{last.test_loss:.3f}")
        if play.status:
            st.error(play.status, icon=":material/local_fire_department:")
        # While it plays the map is not clickable: its click grid would be redrawn at every update for nothing
        st.plotly_chart(figures.boundary(output_rgb, play.points, play.n_classes, show_test=ss["pg_show_test"],
                                         clickable=not training), key=map_key, on_select="rerun",
                        selection_mode="points", config={"displayModeBar": False})
        if training:
            st.caption("Pause to add or remove points by clicking the map.")
        st.plotly_chart(figures.losses(play.history, play.regression), key="pg_loss_fig",
                        config={"displayModeBar": False})
        st.caption(f"{play.parameter_count()} parameters · {len(play.inputs)} training points · "
                   f"{len(play.points.x_test)} test points")


with main_col:
    live()
code_panel(export_code(play), title="Export: the PyTorch code of this run (it reproduces it exactly)")
