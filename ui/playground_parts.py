"""The playground page's parts: the classic experiments, the layer editor, clicks on the map, the live view."""

from __future__ import annotations

import streamlit as st

from core import playground_data
from core.parsing import InputError
from core.playground import MAX_LAYERS, MAX_WIDTH, Playground, Settings
from ui import figures_playground as figures

TF_DEFAULTS = {"pg_data": "circles", "pg_n": 400, "pg_noise": 0.1, "pg_test": 0.5, "pg_seed": 0, "pg_classes": 3,
               "pg_points": "", "pg_removed": "", "pg_features": ["x1", "x2"], "pg_layers": "4,2",
               "pg_act": "tanh", "pg_init": "default", "pg_sigma": 1.0, "pg_bn": False, "pg_dropout": 0.0,
               "pg_optimizer": "sgd", "pg_lr": 0.03, "pg_momentum": 0.0, "pg_reg": "none", "pg_rate": 0.0,
               "pg_batch": 10}

# name -> (button label, settings on top of the defaults, what to notice)
EXPERIMENTS = {
    "line_xor": ("A line on XOR", {"pg_data": "xor", "pg_layers": ""},
                 "With no hidden layer the model draws one straight line, and no line separates XOR: the accuracy "
                 "stays near 50%. Now tick the feature **x1\\*x2**, or add a hidden layer."),
    "xor_feature": ("XOR with x1·x2", {"pg_data": "xor", "pg_layers": "", "pg_features": ["x1", "x2", "x1*x2"]},
                    "One product feature makes XOR separable by a line in feature space: the output map copies the "
                    "x1\\*x2 map, and the test accuracy reaches ~99% with no hidden layer at all."),
    "circles": ("Circles, one hidden layer", {"pg_layers": "4"},
                "Each of the 4 tanh neurons draws one line (see its map in the diagram); the output adds them up "
                "into a closed region around the inner disc. With 1 or 2 neurons it cannot close the region."),
    "lr_high": ("Too high a learning rate", {"pg_lr": 3.0},
                "Every step overshoots: the loss jumps around instead of falling and the boundary flickers. "
                "Lower the learning rate to 0.03 while it plays: the next epoch already uses it."),
    "overfit": ("Overfitting", {"pg_data": "gauss", "pg_n": 60, "pg_noise": 0.5, "pg_layers": "8,8,8",
                                "pg_act": "relu", "pg_optimizer": "adam"},
                "30 noisy training points and ~170 weights: the training loss falls towards 0 while the test loss "
                "climbs, and the boundary bends around single points. Then try the next experiment."),
    "l2": ("... fixed by L2", {"pg_data": "gauss", "pg_n": 60, "pg_noise": 0.5, "pg_layers": "8,8,8",
                               "pg_act": "relu", "pg_optimizer": "adam", "pg_reg": "L2", "pg_rate": 0.03},
           "The same network with an L2 penalty keeps its weights small (thinner edges): a smoother boundary, a "
           "higher training loss and a much lower test loss. Dropout 0.3 does something similar."),
    "dead": ("Dead ReLUs", {"pg_layers": "8,8", "pg_act": "relu", "pg_init": "normal", "pg_sigma": 3.0,
                            "pg_lr": 0.3},
             "Large initial weights and big steps push ReLU neurons below 0 on every point: they output 0, get no "
             "gradient and never recover (crossed out in red in the diagram). Try Kaiming initialisation and "
             "lr 0.03."),
}


def use_experiment(name: str) -> None:
    """A button's callback: the experiment's settings, a fresh model, and play."""
    ss = st.session_state
    for key, value in {**TF_DEFAULTS, **EXPERIMENTS[name][1]}.items():
        ss[key] = value
    ss["pg_experiment"] = name
    ss["pg_reset"] = True
    ss["pg_playing"] = True


def parse_layers(text: str) -> tuple[int, ...]:
    """Example: parse_layers("4, 2") -> (4, 2); "" -> () (no hidden layer: a linear model)."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if len(parts) > MAX_LAYERS:
        raise InputError(f"at most {MAX_LAYERS} hidden layers (you wrote {len(parts)})")
    if not all(p.isdigit() for p in parts):
        raise InputError("write the neurons of each hidden layer as whole numbers, e.g. 4,2")
    widths = tuple(int(p) for p in parts)
    if any(not 1 <= w <= MAX_WIDTH for w in widths):
        raise InputError(f"each hidden layer has 1 to {MAX_WIDTH} neurons")
    return widths


def _set_layers(widths: list[int]) -> None:
    st.session_state["pg_layers"] = ",".join(str(w) for w in widths)


def _add_layer(widths: list[int]) -> None:
    _set_layers(widths + [widths[-1] if widths else 4])


def _resize(widths: list[int], i: int, delta: int) -> None:
    widths = list(widths)
    widths[i] = min(MAX_WIDTH, max(1, widths[i] + delta))
    _set_layers(widths)


def layer_editor(widths: tuple[int, ...]) -> None:
    """Buttons that add or remove a hidden layer, and a neuron to or from each layer."""
    w = list(widths)
    cols = st.columns([1.3, 1.3] + [1] * MAX_LAYERS, vertical_alignment="center")
    cols[0].button("Layer", icon=":material/add:", key="pg_layer_add", on_click=_add_layer, args=(w,),
                   disabled=len(w) >= MAX_LAYERS, help="Add a hidden layer", width="stretch")
    cols[1].button("Layer", icon=":material/remove:", key="pg_layer_remove", on_click=_set_layers, args=(w[:-1],),
                   disabled=not w, help="Remove the last hidden layer", width="stretch")
    for i, width in enumerate(w):
        with cols[2 + i]:
            st.caption(f"layer {i + 1}: **{width}**")
            with st.container(horizontal=True, gap="small"):
                st.button("", icon=":material/add:", key=f"pg_w{i}_add", on_click=_resize, args=(w, i, 1),
                          disabled=width >= MAX_WIDTH, help=f"A neuron more in layer {i + 1}", type="tertiary")
                st.button("", icon=":material/remove:", key=f"pg_w{i}_remove", on_click=_resize, args=(w, i, -1),
                          disabled=width <= 1, help=f"A neuron less in layer {i + 1}", type="tertiary")


def handle_click(play: Playground, chart_key: str) -> bool:
    """A click on the map adds a point of the chosen class there, or removes the point under it; True if the
    data changed (the page then reruns whole: a new model for the new data, and the link carries the points)."""
    state = st.session_state.get(chart_key)
    chosen = getattr(getattr(state, "selection", None), "points", None) or []
    if not chosen:
        return False
    st.session_state["pg_clicks"] = st.session_state.get("pg_clicks", 0) + 1  # a fresh chart: no selection left
    x1, x2 = float(chosen[0]["x"]), float(chosen[0]["y"])
    cfg = play.data
    mode = st.session_state.get("pg_click", 0)
    if mode == "remove":
        point = playground_data.nearest(play.points, x1, x2)
        if point is None:
            return True
        own, removed = playground_data.remove(cfg.own, cfg.removed, point)
    else:
        if len(cfg.own) >= playground_data.MAX_OWN_POINTS:
            st.session_state["pg_click_note"] = f"At most {playground_data.MAX_OWN_POINTS} points of your own."
            return True
        label = float(st.session_state.get("pg_target", 0.5)) if play.regression else float(mode)
        own, removed = cfg.own + ((round(x1, 2), round(x2, 2), label),), cfg.removed
    st.session_state["pg_points"] = playground_data.dump_own(own)
    st.session_state["pg_removed"] = ",".join(str(i) for i in removed)
    return True


def settings() -> Settings:
    ss = st.session_state
    return Settings(ss["pg_optimizer"], float(ss["pg_lr"]), float(ss["pg_momentum"]), ss["pg_reg"], float(ss["pg_rate"]),
                    float(ss["pg_dropout"]), int(ss["pg_batch"]))


def big_options(play: Playground) -> dict[str, str]:
    """What the large map can show: the output, each feature, each neuron."""
    out = {"none": "none (click a neuron above)", "output": "the output"}
    out.update({f"f{i}": f"feature {name}" for i, name in enumerate(play.net.features)})
    for layer, width in enumerate(play.net.hidden, start=1):
        out.update({f"n{layer}_{i}": f"layer {layer}, neuron {i + 1}" for i in range(width)})
    return out


def node_choice(point: dict, play: Playground) -> str | None:
    """The large map's option for a neuron clicked in the network diagram."""
    col, y = round(float(point["x"])), float(point["y"])
    sizes = [len(play.net.features), *play.net.hidden]
    if col >= len(sizes):
        return "output"
    i = round((sizes[col] - 1) / 2 - y)
    if not 0 <= i < sizes[col]:
        return None
    return f"f{i}" if col == 0 else f"n{col}_{i}"


def big_map(play: Playground, maps, choice: str, output_rgb):
    label = big_options(play).get(choice, "the output")
    if choice.startswith("f"):
        return figures.large_map(maps.features[int(choice[1:])], label)
    if choice.startswith("n"):
        layer, i = (int(v) for v in choice[1:].split("_"))
        return figures.large_map(maps.neurons[layer - 1][i], label)
    return figures.large_map(output_rgb, "the output")
