import textwrap

import pandas as pd
import streamlit as st
import torch
import torch.nn.functional as F

from core import architectures as A
from core.system import best_device
from ui import links
from ui.common import code_panel, fail, header

BUILDS = tuple(A.BUILDS)
PARAMS = {
    "an_in": links.Int(1, 1, 3),
    "an_hidden": links.Int(20, 1, 64),
    "an_out": links.Int(64, 1, 128),
    "an_kernel": links.Int(5, 1, 7),
    "an_dropout": links.Float(0.0, 0.0, 0.9),
    "an_size": links.Int(16, 4, 32),
    "an_seed": links.Int(0, 0, 9999),
    "an_build": links.Choice("Sequential(OrderedDict)", BUILDS),
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

cfg = A.AnatomyConfig(ss.an_in, ss.an_hidden, ss.an_out, ss.an_kernel, round(ss.an_dropout, 2))
size, seed, k = ss.an_size, ss.an_seed, cfg.kernel
out_size = size - 2 * (k - 1)
if out_size < 1:
    fail(f"A {size}x{size} input is too small for two {k}x{k} convolutions without padding: the output would be "
         f"{size} - 2·({k} - 1) = {out_size} pixels wide. Use a larger input or a smaller kernel.")

models = A.build_three(cfg, seed)
x = torch.randn(1, cfg.in_channels, size, size, generator=torch.Generator().manual_seed(seed + 1))
with torch.no_grad():
    outs = {name: m.eval()(x) for name, m in models.items()}
drop = cfg.dropout > 0

st.subheader("1 · One model, three ways")
drop_sub = f"\n        self.drop = nn.Dropout({cfg.dropout})" if drop else ""
drop_fwd = "\n        x = self.drop(x)" if drop else ""
drop_seq = f"\n    nn.Dropout({cfg.dropout})," if drop else ""
drop_od = f"\n    ('drop', nn.Dropout({cfg.dropout}))," if drop else ""
code = {
    "subclass": f"""class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d({cfg.in_channels}, {cfg.hidden}, {k}){drop_sub}
        self.conv2 = nn.Conv2d({cfg.hidden}, {cfg.out_channels}, {k})

    def forward(self, x):
        x = F.relu(self.conv1(x)){drop_fwd}
        return F.relu(self.conv2(x))

model = Net()""",
    "Sequential": f"""model = nn.Sequential(
    nn.Conv2d({cfg.in_channels}, {cfg.hidden}, {k}),
    nn.ReLU(),{drop_seq}
    nn.Conv2d({cfg.hidden}, {cfg.out_channels}, {k}),
    nn.ReLU(),
)""",
    "Sequential(OrderedDict)": f"""model = nn.Sequential(OrderedDict([
    ('conv1', nn.Conv2d({cfg.in_channels}, {cfg.hidden}, {k})),
    ('relu1', nn.ReLU()),{drop_od}
    ('conv2', nn.Conv2d({cfg.hidden}, {cfg.out_channels}, {k})),
    ('relu2', nn.ReLU()),
]))""",
}
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
mapping = A.key_mapping(models["subclass"], models["Sequential"])
named = A.key_mapping(models["subclass"], models["Sequential(OrderedDict)"])
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
    st.dataframe(pd.DataFrame([(n, str(s), c) for n, s, c, _ in A.parameter_table(model)],
                              columns=["name", "shape", "numel"]), hide_index=True, width="stretch",
                 key="an_params")
st.caption(f"{len(list(model.children()))} children, {len(list(model.modules()))} modules (the model counts "
           f"itself), {len(list(model.parameters()))} parameter tensors. The subclass calls `F.relu`, a function: "
           "it has no module, so it is in neither list.")

st.subheader("3 · nn.ReLU vs F.relu")
h = models["Sequential(OrderedDict)"].conv1(x)
same = torch.equal(torch.nn.ReLU()(h), F.relu(h))
st.markdown(f"`nn.ReLU()(h)` and `F.relu(h)` are {'**identical**' if same else 'different!'} on conv1's output "
            f"(shape {tuple(h.shape)}): the module just calls the function. Use the module where layers are "
            "listed (`nn.Sequential`, so `print(model)` shows it); the function inside `forward`.")

st.subheader("4 · .to(): device and dtype")
device = best_device()
m64 = A.build_sequential(cfg)  # a fresh copy: the dtype change must not touch the models above
before = next(m64.parameters()).dtype
returned = m64.to(torch.float64)
m = st.columns(4)
m[0].metric("dtype before", str(before).replace("torch.", ""))
m[1].metric("after model.to(torch.float64)", str(next(m64.parameters()).dtype).replace("torch.", ""))
m[2].metric("returned object is the model", str(returned is m64))
m[3].metric("Best device here", device.upper())
t = torch.zeros(3)
st.markdown("`Module.to()` changes the module **in place** and returns it (so `model = model.to(device)` and "
            "`model.to(device)` do the same), while `Tensor.to()` returns a **new** tensor: "
            f"`t.to(torch.float64) is t` is {t.to(torch.float64) is t}. Inputs must be on the model's device: "
            f"`x = x.to('{device}')`.")

st.subheader("5 · state_dict: save, load, round trip")
size_bytes, fresh = A.save_load_round_trip(models["Sequential(OrderedDict)"], A.build_named(cfg))
with torch.no_grad():
    again = fresh.eval()(x)
m = st.columns(3)
m[0].metric("Saved bytes", f"{size_bytes:,}", help=f"{params['subclass']:,} float32 values + key names")
m[1].metric("Tensors in the state_dict", len(fresh.state_dict()))
m[2].metric("Max |loaded - original| output", f"{float((again - ref).abs().max()):g}")
try:
    models["Sequential"].load_state_dict(models["Sequential(OrderedDict)"].state_dict())
    mismatch = "no error"
except RuntimeError as exc:
    mismatch = str(exc).split("\n\t")[0] + " " + " ".join(str(exc).split("\n\t")[1:]).strip()
st.markdown("Loading is strict by default: the OrderedDict build's keys do not fit the plain Sequential:")
st.code(f"RuntimeError: {mismatch[:400]}", language=None, wrap_lines=True)
st.caption("Rename the keys (the table in section 1) or build the same class. `torch.load(..., weights_only=True)` "
           "reads only tensors and plain containers: a file cannot run code when it is loaded.")

st.subheader("6 · train() vs eval()")
model = models["Sequential(OrderedDict)"]
model.train()
flags_train = {n or "(model)": mod.training for n, mod in model.named_modules()}
with torch.no_grad():
    a = model(x)
    b = model(x) if drop else outs["Sequential(OrderedDict)"]  # no dropout: compare with the eval output
model.eval()
with torch.no_grad():
    c1, c2 = outs["Sequential(OrderedDict)"], model(x)  # the first eval pass ran in section 1
flags = pd.DataFrame({"module": list(flags_train), "after model.train()": list(flags_train.values()),
                      "after model.eval()": [mod.training for _, mod in model.named_modules()]})
cols = st.columns([2, 3])
cols[0].dataframe(flags, hide_index=True, width="stretch", key="an_flags")
with cols[1]:
    m = st.columns(2)
    m[0].metric("train: two passes equal?" if drop else "train and eval outputs equal?", str(torch.equal(a, b)))
    m[1].metric("eval: two passes equal?", str(torch.equal(c1, c2)))
    st.markdown("`train()` and `eval()` set the `training` flag of the model **and every submodule**. Only some "
                "layers read it: Dropout and BatchNorm. "
                + ("With dropout, two passes in train mode draw two different masks; in eval mode the output is "
                   "deterministic." if drop else "This model has no dropout, so both modes give the same output: "
                                                     "add dropout above to see the difference."))

code_panel(f"""from collections import OrderedDict
import io
import torch
from torch import nn
import torch.nn.functional as F

def build():
{textwrap.indent(code['Sequential(OrderedDict)'].replace('model = ', 'return ', 1), '    ')}

model = build()
seq = nn.Sequential(nn.Conv2d({cfg.in_channels}, {cfg.hidden}, {k}), nn.ReLU(),{' nn.Dropout(' + str(cfg.dropout) + '),' if drop else ''}
                    nn.Conv2d({cfg.hidden}, {cfg.out_channels}, {k}), nn.ReLU())

# the same weights under the other build's names: pair the keys in order
state = model.state_dict()
seq.load_state_dict({{k2: state[k1] for k1, k2 in zip(state, seq.state_dict())}})
x = torch.randn(1, {cfg.in_channels}, {size}, {size})
print(torch.equal(model.eval()(x), seq.eval()(x)))   # True

print([name for name, _ in model.named_children()])
print([name for name, _ in model.named_modules()])   # '' is the model itself
print([(name, tuple(p.shape)) for name, p in model.named_parameters()])

buffer = io.BytesIO()
torch.save(model.state_dict(), buffer)               # {size_bytes:,} bytes
buffer.seek(0)
copy = build()                                       # the same architecture, fresh weights
copy.load_state_dict(torch.load(buffer, weights_only=True))

model.to(torch.float64)                              # in place: returns the same model
model.train(); model.eval()                          # flips .training on every submodule
""")
