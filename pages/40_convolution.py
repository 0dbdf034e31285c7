import pandas as pd
import streamlit as st

from core import convolution
from ui import figures_networks as figures
from ui import links
from ui.common import code_panel, halt, header

CHANNELS = (1, 2, 3, 4, 8, 16, 32, 64, 128)
DRAWN = 16  # inputs up to 16 x 16 are drawn cell by cell with their numbers; larger ones as colour maps
PARAMS = {
    "cv_size": links.Int(7, 1, 64),
    "cv_cin": links.Choice(1, CHANNELS),
    "cv_cout": links.Choice(1, CHANNELS),
    "cv_groups": links.Int(1, 1, 4),
    "cv_kernel": links.Int(3, 1, 7),
    "cv_stride": links.Int(1, 1, 4),
    "cv_padding": links.Int(0, 0, 4),
    "cv_dilation": links.Int(1, 1, 4),
    "cv_bias": links.Bool(True),
    "cv_seed": links.Int(0, 0, 9999),
    "cv_pos": links.Int(0, 0, 64 * 64 - 1),
    "cv_oc": links.Int(0, 0, 127),
    "cv_ws_size": links.Int(32, 8, 64),
    "cv_ws_in": links.Int(3, 1, 4),
    "cv_ws_k1": links.Int(5, 1, 9),
    "cv_ws_c1": links.Int(8, 1, 64),
    "cv_ws_k2": links.Int(3, 1, 9),
    "cv_ws_c2": links.Int(16, 1, 64),
}

links.bind(PARAMS)
header("Convolution arithmetic",
       "A convolution slides a small **kernel** over the input; at each stop it takes the dot product of the kernel "
       "with the cells under it. Set the sizes below: the output size comes from the formula **and** from running "
       "`nn.Conv2d`, and you can step the kernel across the input to see every dot product.")

c = st.columns(5)
c[0].slider("Input size n (height = width)", 1, 64, key="cv_size")
c[1].select_slider("in_channels", CHANNELS, key="cv_cin")
c[2].select_slider("out_channels", CHANNELS, key="cv_cout")
c[3].slider("groups", 1, 4, key="cv_groups", help="Split channels into groups that do not see each other.")
c[4].number_input("Seed (input and weights)", 0, 9999, key="cv_seed")
c = st.columns(5)
c[0].slider("kernel_size k", 1, 7, key="cv_kernel")
c[1].slider("stride s", 1, 4, key="cv_stride")
c[2].slider("padding p", 0, 4, key="cv_padding")
c[3].slider("dilation d", 1, 4, key="cv_dilation", help="Spread the kernel's cells d apart.")
c[4].toggle("bias", key="cv_bias")

ss = st.session_state
cfg = convolution.ConvConfig(ss.cv_size, ss.cv_cin, ss.cv_cout, ss.cv_kernel, ss.cv_stride, ss.cv_padding,
                             ss.cv_dilation, ss.cv_groups, ss.cv_bias)
n, k, s, p, d, g = cfg.size, cfg.kernel, cfg.stride, cfg.padding, cfg.dilation, cfg.groups
formula_out = convolution.conv_output_size(n, k, s, p, d)
problem = convolution.conv_problem(cfg)


@st.cache_data(max_entries=128, show_spinner=False)
def _run(cfg: convolution.ConvConfig, seed: int) -> convolution.ConvRun:
    return convolution.run_conv(cfg, seed)


@st.cache_data(max_entries=16, show_spinner=False)
def _torch_error(cfg: convolution.ConvConfig) -> str:
    return convolution.torch_error(cfg)


st.subheader("1 · Output size and parameters")
st.latex(r"n_\text{out} = \left\lfloor \frac{n + 2p - d(k-1) - 1}{s} \right\rfloor + 1"
         rf"= \left\lfloor \frac{{{n} + 2\cdot{p} - {d}\cdot({k}-1) - 1}}{{{s}}} \right\rfloor + 1 = {formula_out}")

if problem:
    m = st.columns(3)
    m[0].metric("Output size by the formula", formula_out)
    m[1].metric("nn.Conv2d", "refuses")
    st.error(problem, icon=":material/block:")
    st.markdown(f"What torch says: `{_torch_error(cfg)}`")
    code_panel(convolution.conv_error_code(cfg, ss.cv_seed))
else:
    run = _run(cfg, ss.cv_seed)
    ho = run.y.shape[-1]
    per_in = cfg.in_channels // g
    m = st.columns(4)
    m[0].metric("Output size by the formula", formula_out)
    m[1].metric("Output size from nn.Conv2d", ho, help="y = conv(x); y.shape[-1]")
    m[2].metric("Output shape", "x".join(map(str, run.y.shape)))
    m[3].metric("Parameters", f"{run.params:,}", help="sum(p.numel() for p in conv.parameters())")
    bias_text = f" + {cfg.out_channels} biases" if cfg.bias else ""
    st.markdown(f"Parameters: out_channels x (in_channels / groups) x k x k{' + out_channels' if cfg.bias else ''} "
                f"= {cfg.out_channels} x {per_in} x {k} x {k}{bias_text} = **{convolution.conv_param_count(cfg):,}**. "
                f"The kernel spans d(k-1)+1 = **{convolution.effective_kernel(k, d)}** cells; the padded input has "
                f"n+2p = **{n + 2 * p}**.")

    st.subheader("2 · Step the kernel across the input")
    if ss.cv_oc >= cfg.out_channels:
        ss.cv_oc = 0
    playing = bool(ss.get("cv_play"))

    @st.fragment(run_every=0.9 if playing else None)
    def stepper():
        cells = ho * ho
        if ss.cv_pos >= cells:
            ss.cv_pos = cells - 1
        if ss.get("cv_play"):  # each tick of the timer moves the kernel one cell on
            if ss.cv_pos >= cells - 1:
                ss.cv_play = False
            else:
                ss.cv_pos += 1
        c1, c2, c3 = st.columns([4, 1, 1], vertical_alignment="bottom")
        if cells > 1:
            c1.slider("Output cell (row by row)", 0, cells - 1, key="cv_pos",
                      help="Move it to slide the kernel; the outlined cells are the ones it reads.")
            c2.toggle("Play", key="cv_play", help="Slide the kernel over every output cell, one per second.")
        else:
            c1.caption("The output has a single cell.")
        if cfg.out_channels > 1:
            c3.selectbox("Output channel", list(range(cfg.out_channels)), key="cv_oc")
        if bool(ss.get("cv_play")) != playing:
            st.rerun()  # start or stop the timer
        draw_step(ss.cv_oc, *divmod(ss.cv_pos, ho))

    def draw_step(oc: int, i: int, j: int):
        step = convolution.conv_step(run, oc, i, j)
        mask = convolution.receptive_mask(cfg, i, j)
        channels = convolution.input_channels_of(cfg, oc)
        st.markdown(f"Output cell **({i}, {j})** of channel {oc} reads input rows "
                    f"{i * s - p}, {i * s - p + d}, ... and columns {j * s - p}, {j * s - p + d}, ... "
                    f"(negative or >= {n}: zero padding) of input channel{'s' if len(channels) > 1 else ''} "
                    f"{', '.join(map(str, channels)) if len(channels) <= 8 else f'{channels[0]} to {channels[-1]}'}"
                    + (f" (group {oc // (cfg.out_channels // g)} of {g})" if g > 1 else "") + ".")
        cells_read = [tuple(c) for c in mask.nonzero().tolist()]
        shown = channels[:2]
        cols = st.columns(len(shown) + 1)
        width = 1000 // len(cols)
        for col, ch in zip(cols, shown, strict=False):
            col.plotly_chart(figures.conv_input(convolution.padded_input(run, ch), n, p, cells_read, width=width,
                                                title=f"input channel {ch}" + (" (padded)" if p else ""),
                                                numbers=n + 2 * p <= DRAWN), key=f"cv_in_{ch}")
        cols[-1].plotly_chart(figures.grid(run.y[0, oc], title=f"output channel {oc}", diverging=True, width=width,
                                           highlight=[(i, j)], numbers=ho <= DRAWN), key="cv_out")
        if n + 2 * p > DRAWN:
            st.caption(f"A {n + 2 * p} x {n + 2 * p} input is drawn as a colour map (hover a cell for its value).")
        if len(channels) > 2:
            st.caption(f"Showing 2 of the {len(channels)} input channels this output reads; the sum covers all.")

        st.markdown("**The dot product**: the cells under the kernel times the kernel's weights, summed over "
                    f"{'all ' + str(len(channels)) + ' input channels' if len(channels) > 1 else 'the kernel'}"
                    f"{', plus the bias' if cfg.bias else ''}.")
        for ch in shown:
            terms = [t for t in step.terms if t.in_channel == ch]
            patch = [[terms[a * k + b].x for b in range(k)] for a in range(k)]
            weights = [[terms[a * k + b].w for b in range(k)] for a in range(k)]
            prods = [[terms[a * k + b].x * terms[a * k + b].w for b in range(k)] for a in range(k)]
            titles = (f"input cells read (channel {ch})", f"weight[{oc}, {ch - channels[0]}]",
                      f"products: sum {sum(map(sum, prods)):g}")
            st.plotly_chart(figures.dot_product(patch, weights, prods, titles=titles, height=110 + 40 * k),
                            key=f"cv_dot_{ch}")
        terms_text = " + ".join(f"{t.x:g}·{t.w:g}" if t.w >= 0 else f"{t.x:g}·({t.w:g})" for t in step.terms[:27])
        more = f" + ... ({len(step.terms) - 27} more products)" if len(step.terms) > 27 else ""
        bias_part = f" + bias {step.bias:g}" if cfg.bias else ""
        st.markdown(f"`{terms_text}{more}{bias_part}` = **{step.total:g}**")
        agree = abs(step.total - step.torch_value) < 1e-4
        (st.success if agree else st.error)(
            f"`conv(x)[0, {oc}, {i}, {j}]` = **{step.torch_value:g}**: "
            + ("the same number, computed by nn.Conv2d." if agree else "differs from the dot product!"),
            icon=":material/check_circle:" if agree else ":material/error:")
        code_panel(convolution.conv_code(run, ss.cv_seed, step))

    stepper()

st.subheader("3 · Worked example: shapes through a small CNN")
st.markdown("The classic exercise: a 32x32 RGB image through conv 5x5 -> pool -> conv 3x3 -> pool. Each pool "
            "halves the size; flattening gives the input size of the first `nn.Linear`.")
c = st.columns(6)
c[0].number_input("Input size", 8, 64, key="cv_ws_size")
c[1].number_input("Input channels", 1, 4, key="cv_ws_in")
c[2].number_input("conv1 kernel", 1, 9, key="cv_ws_k1")
c[3].number_input("conv1 channels", 1, 64, key="cv_ws_c1")
c[4].number_input("conv2 kernel", 1, 9, key="cv_ws_k2")
c[5].number_input("conv2 channels", 1, 64, key="cv_ws_c2")

size, cin, k1, c1_, k2, c2_ = (ss.cv_ws_size, ss.cv_ws_in, ss.cv_ws_k1, ss.cv_ws_c1, ss.cv_ws_k2, ss.cv_ws_c2)
plan = convolution.shape_plan(size, k1, c1_, k2, c2_)


@st.cache_data(max_entries=64, show_spinner=False)
def _walk(size, cin, k1, c1_, k2, c2_):
    return convolution.walk(size, cin, k1, c1_, k2, c2_)


bad = next((step for step in plan if step.size_out <= 0), None)
if bad:
    st.error(f"{bad.name} gets a {bad.size_in}x{bad.size_in} input, too small for its {bad.kernel}x{bad.kernel} "
             f"window (output size {bad.size_out} <= 0). Use a larger input or smaller kernels.",
             icon=":material/block:")
else:
    rows = _walk(size, cin, k1, c1_, k2, c2_)
    by_layer = {"conv1": rows[0], "pool1": rows[2], "conv2": rows[3], "pool2": rows[5]}
    table = [{"layer": "input", "module": "", "size formula": "", "output (C x H x W)": f"{cin} x {size} x {size}",
              "parameters": 0}]
    for step in plan:
        row = by_layer[step.name]
        module = (f"nn.Conv2d({cin if step.name == 'conv1' else c1_}, {step.channels}, {step.kernel})"
                  if step.kind == "conv" else "nn.MaxPool2d(2)")
        table.append({"layer": step.name, "module": module, "size formula": step.formula,
                      "output (C x H x W)": " x ".join(map(str, row.output_shape)), "parameters": row.params})
    flat, h = rows[-1].output_shape[0], plan[-1].size_out
    table.append({"layer": "flatten", "module": "nn.Flatten()", "size formula": f"{c2_} x {h} x {h}",
                  "output (C x H x W)": f"{flat}", "parameters": 0})
    st.dataframe(pd.DataFrame(table), hide_index=True, width="stretch", key="cv_ws_table")
    st.metric("Features after flatten", f"{flat:,}", help="the in_features of the first nn.Linear")
    st.caption("Output shapes and parameter counts come from running the model (forward hooks); "
               "the formulas beside them agree.")
    code_panel(convolution.walk_code(size, cin, plan, rows), title="PyTorch code: the worked example")

st.subheader("4 · Why convolutions: weight sharing")
if size < k1:
    st.info(f"conv1's {k1} x {k1} kernel does not fit the {size} x {size} input above: make the input larger.",
            icon=":material/info:")
    halt()
why = convolution.why_conv(size, cin, k1, c1_)
m = st.columns(3)
m[0].metric("conv1's parameters", f"{why.conv_params:,}", help=f"nn.Conv2d({cin}, {c1_}, {k1})")
m[1].metric("fully connected, same outputs", f"{why.fc_params:,}",
            help=f"nn.Linear({cin * size * size}, {why.outputs}): the same input to as many outputs")
m[2].metric("ratio", f"{why.fc_params / why.conv_params:,.0f}x")
st.markdown(f"Both map the {cin} x {size} x {size} input to {why.outputs:,} numbers. The convolution reuses one "
            f"small set of {k1} x {k1} kernels at every position (**weight sharing**) and each output looks only at "
            "its neighbourhood (**local connectivity**): the same edge detector works anywhere in the image, with "
            "far fewer weights to learn. `nn.Conv2d` only holds the weight and bias; `F.conv2d(x, conv.weight, "
            f"conv.bias)` computes the same output (max difference {why.functional_gap:.1e}).")
code_panel(convolution.why_conv_code(size, cin, k1, c1_, why), title="PyTorch code: conv vs fully connected")
