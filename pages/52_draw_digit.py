import streamlit as st
import torch

from core import datasets, digits
from core.evaluation import predict
from core.image_data import DataUnavailable
from ui import figures_networks, links
from ui.common import code_panel, fail, header
from ui.inside_models import explain_drawing
from ui.session_models import active_run_id, quick_mnist_model, trained_runs

QUICK = "quick"
CANVAS = 280  # pixels: ten canvas pixels per MNIST pixel
PARAMS = {"dd_stroke": links.Int(22, 10, 40)}

links.bind(PARAMS)
header("Draw a digit",
       "Draw a digit from 0 to 9 with the mouse (or a finger) and an MNIST model classifies it as you draw. "
       "Your drawing goes through the same preprocessing MNIST's digits did: cropped, scaled to fit a 20x20 box, "
       "centred by its centre of mass in a 28x28 image, then normalised.")
ss = st.session_state

runs = [r for r in trained_runs() if r.dataset == "MNIST" and r.data.image_shape == (1, 28, 28)]
by_id = {r.id: r for r in runs}
options = [r.id for r in runs] + [QUICK]
if ss.get("dd_model") not in options:
    active = active_run_id()
    ss.dd_model = active if active in by_id else (runs[-1].id if runs else QUICK)


def _label(option) -> str:
    if option == QUICK:
        return "A small CNN trained on MNIST (shared)"
    run = by_id[option]
    return f"Your Training studio run #{run.id} ({run.model_cfg.arch})"


c1, c2 = st.columns([3, 2])
c1.selectbox("Model", options, key="dd_model", format_func=_label,
             help="Models you trained on MNIST in the Training studio appear here.")
c2.slider("Pen width", 10, 40, key="dd_stroke")

try:
    mnist = datasets.load_shared("mnist")
except DataUnavailable as exc:
    fail(str(exc))
status_area = st.container()  # always drawn, so the canvas below keeps its place (and its drawing) across reruns
if ss.dd_model == QUICK:
    with status_area:
        model, accuracy = quick_mnist_model(mnist)
    data = mnist
else:
    run = by_id[ss.dd_model]
    model, data, accuracy = run.model, run.data, run.test_acc

left, right = st.columns([1, 1], gap="large")
with left:
    st.markdown("**Your drawing**")
    try:
        from streamlit_drawable_canvas import st_canvas
    except Exception:  # the component could not load: the page still explains itself
        fail("The drawing canvas component (streamlit-drawable-canvas) is not available. "
             "Install the requirements with `make run` and reload.")
    canvas = st_canvas(stroke_width=ss.dd_stroke, stroke_color="#FFFFFF", background_color="#000000",
                       height=CANVAS, width=CANVAS, drawing_mode="freedraw", return_image_data=True,
                       key=f"dd_canvas_{ss.setdefault('dd_clears', 0)}")
    if st.button("Clear the canvas", icon=":material/ink_eraser:", key="dd_clear"):
        ss.dd_clears += 1  # a new canvas key: a fresh, empty canvas
        st.rerun()
    st.caption("Draw large and centred, one digit at a time.")

rgba = None
if canvas is not None and canvas.json_data and canvas.json_data.get("objects"):
    try:
        rgba = torch.from_numpy(canvas.image_data.copy())  # (H, W, 4) uint8
    except Exception:
        rgba = None
x = digits.prepare(rgba) if rgba is not None else None
shown = x if x is not None else digits.prepare(digits.stand_in(mnist.x_test[0, 0]))  # what the code panel reads
probs = predict(model, shown, data)[0]  # (10,)
pred = int(probs.argmax())

with right:
    if x is None:
        st.info("Draw a digit on the black canvas: the prediction appears here.", icon=":material/draw:")
    else:
        top2 = probs.topk(2)
        m = st.columns(3)
        m[0].metric("Prediction", str(pred))
        m[1].metric("Confidence", f"{float(probs[pred]):.1%}")
        m[2].metric("Runner-up", f"{int(top2.indices[1])} ({float(top2.values[1]):.1%})")
        if st.button(f"Why did it say {pred}?", key="dd_why", icon=":material/troubleshoot:",
                     help="Saliency, Grad-CAM and occlusion maps of your drawing (See inside training)"):
            explain_drawing(x, "shared" if ss.dd_model == QUICK else ss.dd_model)
        oddity = digits.unlike_a_digit(x)
        if oddity:
            st.warning(oddity, icon=":material/help:")
        elif float(probs[pred]) < 0.6:
            st.warning("The model is unsure: try drawing the digit larger, thicker or more centred.",
                       icon=":material/help:")
        st.plotly_chart(figures_networks.probabilities(probs, [str(c) for c in range(10)], true_index=None,
                                                       height=320), key="dd_probs")

if x is not None:
    st.subheader("What the model sees")
    cols = st.columns([1, 2])
    cols[0].plotly_chart(figures_networks.image(x[0].float() / 255, height=260), key="dd_seen")
    cols[1].markdown(
        f"Your drawing as a **28x28** image, white ink on black like MNIST. The model "
        f"({'test accuracy ' + format(accuracy, '.1%') if accuracy is not None else 'accuracy unknown'} on "
        "MNIST's test set) has only ever seen digits prepared this way: if yours looks very different here (too "
        "thin, cut off, two digits), it is likely to be misread. Models trained with augmentation in the Training "
        "studio are more forgiving.")

run_weights = None if ss.dd_model == QUICK else (f"{run.model_cfg.arch}-run{run.id}.pt", run.model_cfg.to_dict())
code_panel(digits.digit_code(x, data.mean[0], data.std[0], pred, run=run_weights),
           title="PyTorch code that ran" if x is not None else "PyTorch code (MNIST test image 0 stands in for "
                                                                 "a drawing)")
