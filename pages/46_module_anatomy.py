import pandas as pd
import streamlit as st

from core import anatomy
from core.system import best_device
from ui import links
from ui.common import code_panel, fail, header

BUILDS = tuple(anatomy.BUILDS)
PARAMS = {
    "an_in": links.Int(1, 1, 3),
    "an_hidden": links.Int(20, 1, 64),
    "an_out": links.Int(64, 1, 128),
    "an_kernel": links.Int(5, 1, 7),
    "an_dropout": links.Float(0.0, 0.0, 0.9),
    "an_size": links.Int(16, 4, 32),
    "an_seed": links.Int(0, 0, 9999),
    "an_build": links.Choice("Sequential(OrderedDict)", BUILDS),
    "an_lb": links.Int(4, 1, 64),
    "an_lin": links.Int(784, 1, 4096),
    "an_lout": links.Int(512, 1, 4096),
}

links.bind(PARAMS)
header("nn.Module anatomy",
       "The same small network written three ways: a **subclass** of `nn.Module`, an `nn.Sequential`, and an "
       "`nn.Sequential` of an `OrderedDict` with named layers. Same weights, same output, different names. Then: "
       "what `children()`, `modules()` and `named_parameters()` list, `nn.ReLU` vs `F.relu`, `.to()`, saving "
       "and loading a `state_dict`, and `train()` vs `eval()`.")
ss = st.session_state
c = st.columns(7)
c[0].number_input("in_channels", 1, 3, key="an_in")
c[1].number_input("conv1 channels", 1, 64, key="an_hidden")
c[2].number_input("conv2 channels", 1, 128, key="an_out")
c[3].number_input("kernel", 1, 7, key="an_kernel")
c[4].slider("Dropout after relu1", 0.0, 0.9, step=0.1, key="an_dropout", help="0: no dropout layer")
c[5].number_input("Input size", 4, 32, key="an_size")
c[6].number_input("Seed", 0, 9999, key="an_seed")

cfg = anatomy.AnatomyConfig(ss.an_in, ss.an_hidden, ss.an_out, ss.an_kernel, round(ss.an_dropout, 2))
size, seed, k = ss.an_size, ss.an_seed, cfg.kernel
out_size = size - 2 * (k - 1)
if out_size < 1:
    fail(f"A {size}x{size} input is too small for two {k}x{k} convolutions without padding: the output would be "
         f"{size} - 2·({k} - 1) = {out_size} pixels wide. Use a larger input or a smaller kernel.")

models = anatomy.build_three(cfg, seed)
x = anatomy.sample_input(cfg, size, seed)
outs = anatomy.outputs(models, x)
drop = cfg.dropout > 0

st.subheader("1 · One model, three ways")
code = anatomy.build_code(cfg)
cols = st.columns(3)
for col, (name, model) in zip(cols, models.items(), strict=True):
    with col:
        st.markdown(f"**{name}**")
        st.code(code[name], language="python", wrap_lines=True)
        st.code(repr(model), language=None, wrap_lines=True)
params = {name: sum(p.numel() for p in m.parameters()) for name, m in models.items()}
ref = outs["subclass"]
m = st.columns(4)
m[0].metric("Parameters (each build)", f"{params['subclass']:,}" if len(set(params.values())) == 1 else "differ!")
m[1].metric("Output shape", "x".join(map(str, ref.shape)))
m[2].metric("Max |Sequential - subclass|", f"{float((outs['Sequential'] - ref).abs().max()):g}")
m[3].metric("Max |OrderedDict - subclass|", f"{float((outs['Sequential(OrderedDict)'] - ref).abs().max()):g}")
st.markdown("The subclass got seeded weights; the two `Sequential` builds got them through `load_state_dict`, "
            "renaming the keys in order:")
mapping = anatomy.key_mapping(models["subclass"], models["Sequential"])
named = anatomy.key_mapping(models["subclass"], models["Sequential(OrderedDict)"])
st.dataframe(pd.DataFrame({"subclass": [a for a, _, _ in mapping], "Sequential": [b for _, b, _ in mapping],
                           "Sequential(OrderedDict)": [b for _, b, _ in named],
                           "shape": [str(tuple(s)) for _, _, s in mapping]}),
             hide_index=True, width="stretch", key="an_keys")
st.caption("`nn.Sequential` names layers by position: with a dropout layer in between, conv2 becomes `3` instead "
           "of `2`. Named layers keep their names whatever you insert.")

st.subheader("2 · children() vs modules() vs named_parameters()")
st.radio("Build to inspect", BUILDS, key="an_build", horizontal=True)
model = models[ss.an_build]
cols = st.columns(3)
with cols[0]:
    st.markdown("`named_children()`: the direct submodules")
    st.dataframe(pd.DataFrame([(n, type(c).__name__) for n, c in model.named_children()],
                              columns=["name", "module"]), hide_index=True, width="stretch", key="an_children")
with cols[1]:
    st.markdown("`named_modules()`: the model itself, then every submodule")
    st.dataframe(pd.DataFrame([(n or "(the model)", type(c).__name__) for n, c in model.named_modules()],
                              columns=["name", "module"]), hide_index=True, width="stretch", key="an_modules")
with cols[2]:
    st.markdown("`named_parameters()`: the tensors an optimizer updates")
    st.dataframe(pd.DataFrame([(n, str(s), c) for n, s, c, _ in anatomy.parameter_table(model)],
                              columns=["name", "shape", "numel"]), hide_index=True, width="stretch",
                 key="an_params")
st.caption(f"{len(list(model.children()))} children, {len(list(model.modules()))} modules (the model counts "
           f"itself), {len(list(model.parameters()))} parameter tensors. The subclass calls `F.relu`, a function: "
           "it has no module, so it is in neither list.")

st.subheader("3 · nn.ReLU vs F.relu")
same, h_shape = anatomy.relu_module_equals_function(models["Sequential(OrderedDict)"], x)
st.markdown(f"`nn.ReLU()(h)` and `F.relu(h)` are {'**identical**' if same else 'different!'} on conv1's output "
            f"(shape {h_shape}): the module just calls the function. Use the module where layers are "
            "listed (`nn.Sequential`, so `print(model)` shows it); the function inside `forward`.")

st.subheader("4 · .to(): device and dtype")
device = best_device()
moved = anatomy.to_float64(cfg)
m = st.columns(4)
m[0].metric("dtype before", str(moved.before).replace("torch.", ""))
m[1].metric("after model.to(torch.float64)", str(moved.after).replace("torch.", ""))
m[2].metric("returned object is the model", str(moved.same_model))
m[3].metric("Best device here", device.upper())
st.markdown("`Module.to()` changes the module **in place** and returns it (so `model = model.to(device)` and "
            "`model.to(device)` do the same), while `Tensor.to()` is **not in place**: it returns a new tensor "
            f"when the dtype or device changes (`t.to(torch.float64) is t` is {moved.same_tensor}) and `t` itself "
            "when nothing changes, so always assign the result. Inputs must be on the model's device: "
            f"`x = x.to('{device}')`.")

st.subheader("5 · state_dict: save, load, round trip")
size_bytes, fresh = anatomy.save_load_round_trip(models["Sequential(OrderedDict)"], anatomy.build_named(cfg))
again = anatomy.outputs({"fresh": fresh}, x)["fresh"]
m = st.columns(3)
m[0].metric("Saved bytes", f"{size_bytes:,}", help=f"{params['subclass']:,} float32 values + key names")
m[1].metric("Tensors in the state_dict", len(fresh.state_dict()))
m[2].metric("Max |loaded - original| output", f"{float((again - ref).abs().max()):g}")
mismatch = anatomy.load_mismatch(models["Sequential"], models["Sequential(OrderedDict)"])
st.markdown("Loading is strict by default: the OrderedDict build's keys do not fit the plain Sequential:")
st.code(f"RuntimeError: {mismatch[:400]}", language=None, wrap_lines=True)
st.caption("Rename the keys (the table in section 1) or build the same class. `torch.load(..., weights_only=True)` "
           "reads only tensors and plain containers: a file cannot run code when it is loaded.")

st.subheader("6 · train() vs eval()")
check = anatomy.modes(models["Sequential(OrderedDict)"], x, outs["Sequential(OrderedDict)"], drop)
flags = pd.DataFrame({"module": list(check.flags_train), "after model.train()": list(check.flags_train.values()),
                      "after model.eval()": list(check.flags_eval.values())})
cols = st.columns([2, 3])
cols[0].dataframe(flags, hide_index=True, width="stretch", key="an_flags")
with cols[1]:
    m = st.columns(2)
    m[0].metric("train: two passes equal?" if drop else "train and eval outputs equal?", str(check.train_equal))
    m[1].metric("eval: two passes equal?", str(check.eval_equal))
    st.markdown("`train()` and `eval()` set the `training` flag of the model **and every submodule**. Only some "
                "layers read it: Dropout and BatchNorm. "
                + ("With dropout, two passes in train mode draw two different masks; in eval mode the output is "
                   "deterministic." if drop else "This model has no dropout, so both modes give the same output: "
                                                     "add dropout above to see the difference."))

code_panel(anatomy.anatomy_code(cfg, size, seed, models["Sequential(OrderedDict)"], ref, size_bytes, check))

st.subheader("7 · A layer's arithmetic: nn.Linear")
c = st.columns(3)
c[0].number_input("batch", 1, 64, key="an_lb")
c[1].number_input("in_features", 1, 4096, key="an_lin")
c[2].number_input("out_features", 1, 4096, key="an_lout")
lin = anatomy.linear_check(ss.an_lb, ss.an_lin, ss.an_lout, seed)
m = st.columns(4)
m[0].metric("layer.weight.shape", "x".join(map(str, lin.weight_shape)), help="(out_features, in_features)")
m[1].metric("y = layer(x)", "x".join(map(str, lin.out_shape)))
m[2].metric("max |y − (x @ W.T + b)|", f"{lin.gap:.1e}")
m[3].metric("parameters", f"{lin.params:,}", help="in x out weights + out biases")
st.markdown(f"`nn.Linear({ss.an_lin}, {ss.an_lout})` keeps one row of weights per **output**, so its weight is "
            f"({ss.an_lout}, {ss.an_lin}) and the layer computes **y = x @ W.T + b**. "
            + (f"Forgetting the transpose fails: `x @ W` gives *{lin.wrong}*. " if lin.wrong else
               "With as many inputs as outputs, `x @ W` (no transpose) runs but computes something else. ")
            + f"`.T`/`.t()` transposes a matrix; `.t()` refuses more dims: *{lin.t_error}* (use `.transpose(-2, -1)` "
            "or `.mT`).")
code_panel(anatomy.linear_code(ss.an_lb, ss.an_lin, ss.an_lout, lin), title="PyTorch code: nn.Linear by hand")
