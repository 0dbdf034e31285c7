import numpy as np
import streamlit as st
import torch

from core import regularization
from ui import budget, links
from ui import figures_overfitting as figures
from ui.common import code_panel, header

DECAYS = (0.0, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
PENALTIES = ("L2 (weight_decay)", "L1 (added to the loss)")
LRS = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2)
PARAMS = {
    "of_n": links.Int(15, 6, 40),
    "of_noise": links.Float(0.3, 0.0, 1.0),
    "of_seed": links.Int(0, 0, 9999),
    "of_degree": links.Int(3, 0, 15),
    "of_penalty": links.Choice(PENALTIES[0], PENALTIES),
    "of_decay": links.Choice(1e-3, DECAYS[1:]),
    "of_reg_degree": links.Int(12, 1, 15),
    "of_lr": links.Choice(0.05, LRS),
    "of_steps": links.Int(1000, 100, 4000),
    "of_patience": links.Int(100, 10, 1000),
    "of_k": links.Int(5, 2, 10),
}

links.bind(PARAMS)
header("Overfitting & regularisation",
       "Fit a polynomial to noisy samples of sin(πx). Too low a degree **underfits** (misses the curve), too high "
       "a degree **overfits** (threads every noisy training point and swings wildly in between). Validation "
       "points the fit never saw tell the two apart. Then three cures: a penalty on the weights (**L2** via "
       "`weight_decay`, or **L1**), **early stopping**, and choosing by **K-fold** cross-validation.")
ss = st.session_state
c = st.columns([2, 2, 1, 3])
c[0].slider("Training points", 6, 40, key="of_n")
c[1].slider("Noise (std)", 0.0, 1.0, step=0.05, key="of_noise")
c[2].number_input("Seed", 0, 9999, key="of_seed")
c[3].slider("Polynomial degree", 0, 15, key="of_degree")
data_cfg = regularization.PolyData(n_train=ss.of_n, n_val=50, noise=round(ss.of_noise, 2), seed=ss.of_seed)
degree = ss.of_degree


@st.cache_data(max_entries=64, show_spinner=False)
def _points(cfg: regularization.PolyData) -> regularization.Points:
    return regularization.make_points(cfg)


@st.cache_data(max_entries=64, show_spinner=False)
def _curve(cfg: regularization.PolyData) -> regularization.DegreeCurve:
    return regularization.degree_curve(_points(cfg), 15)


points = _points(data_cfg)
grid_x = torch.linspace(-1, 1, 200, dtype=torch.float64)
truth = regularization.target(grid_x)

# ---------------------------------------------------------------------------------------------------------------
st.subheader("1 · Degree: underfitting and overfitting")
curve = _curve(data_cfg)
coef = regularization.fit(points.x_train, points.y_train, degree)
best = int(np.argmin(curve.val_mse))
train_mse, val_mse = curve.train_mse[degree], curve.val_mse[degree]
verdict = regularization.verdict(curve, degree)
m = st.columns(4)
m[0].metric("Training MSE", f"{train_mse:.4f}")
m[1].metric("Validation MSE", f"{val_mse:.4g}")
m[2].metric("Best degree (validation)", best)
m[3].metric("Verdict", verdict)
cols = st.columns(2)
fitted = {f"degree {degree}": regularization.predict(grid_x, coef)}
cols[0].plotly_chart(figures.poly_fit(points, grid_x, fitted, truth), key="of_fit")
cols[1].plotly_chart(figures.error_curves(curve.degrees, {"training": curve.train_mse, "validation": curve.val_mse},
                                          x_title="degree", marks={f"degree {degree}": degree, f"best {best}": best}),
                     key="of_degree_curve")
st.caption(f"The training error only falls as the degree grows (a degree-{ss.of_n - 1} polynomial passes through "
           f"all {ss.of_n} points); the validation error falls, then climbs: that turn is overfitting.")
code_panel(regularization.degree_code(data_cfg, degree, train_mse, val_mse))

# ---------------------------------------------------------------------------------------------------------------
st.subheader("2 · A penalty on the weights: L2 (weight_decay) and L1")
c = st.columns(3)
c[0].radio("Penalty", PENALTIES, key="of_penalty")
c[1].select_slider("Strength λ", DECAYS[1:], key="of_decay", format_func=lambda v: f"{v:g}")
c[2].slider("Degree for this section", 1, 15, key="of_reg_degree")
reg_degree, lam = ss.of_reg_degree, ss.of_decay


@st.cache_data(max_entries=64, show_spinner=False)
def _ridge(cfg: regularization.PolyData, reg_degree: int):
    pts = _points(cfg)
    decays = np.logspace(-7, 0, 36).tolist()
    return decays, regularization.ridge_path(pts.x_train, pts.y_train, reg_degree, decays)


def _gd(cfg: regularization.PolyData, gd: regularization.GDConfig, key: str) -> regularization.GDRun:
    """Adam on the polynomial; kept for every session; with progress and Cancel (widget `key`) when long."""
    def work(progress):
        def every_50_steps(step: int, *_losses) -> None:
            if step % 50 == 0:
                progress(step / gd.steps)

        return regularization.train_gd(_points(cfg), gd, on_step=every_50_steps if progress else None)

    return budget.compute(("of_gd", cfg, gd), work, seconds=regularization.gd_seconds(gd.steps),
                          label="Training with torch.optim.Adam", key=key)


if ss.of_penalty.startswith("L2"):
    plain = regularization.fit(points.x_train, points.y_train, reg_degree)
    penal = regularization.fit(points.x_train, points.y_train, reg_degree, weight_decay=lam)
    how = (f"Closed form: the minimum of MSE + λ/2·‖w‖² is exactly where `torch.optim.SGD(weight_decay={lam:g})` "
           "converges (its gradient gets + λ·w at every step; the tests check this).")
else:
    steps = 2000
    plain_cfg = regularization.GDConfig(degree=reg_degree, lr=0.05, steps=steps, patience=10**9)
    l1_cfg = regularization.GDConfig(degree=reg_degree, lr=0.05, steps=steps, l1=lam, patience=10**9)
    plain = _gd(data_cfg, plain_cfg, "of_cancel_plain").coef.double()
    penal = _gd(data_cfg, l1_cfg, "of_cancel_l1").coef.double()
    how = (f"Trained by `torch.optim.Adam` for {steps} steps on MSE + λ·Σ|w|, from zero weights. L1 pushes "
           "weights all the way to 0 (a sparse model); L2 only shrinks them.")
val_plain = regularization.mse(points.x_val, points.y_val, plain)
val_penal = regularization.mse(points.x_val, points.y_val, penal)
m = st.columns(4)
m[0].metric("Validation MSE, no penalty", f"{val_plain:.4g}")
m[1].metric(f"... with λ = {lam:g}", f"{val_penal:.4g}")
norm_plain, norm_penal = float(plain.norm()), float(penal.norm())
m[2].metric("‖w‖ with the penalty", f"{norm_penal:.3g}", delta=f"{norm_penal - norm_plain:+.3g} vs none",
            delta_color="inverse", help=f"‖w‖ without the penalty: {norm_plain:.4g}")
m[3].metric("Weights |w| < 0.01", f"{int((penal.abs() < 0.01).sum())} of {reg_degree + 1}")
st.caption(how)
cols = st.columns(2)
fitted = {f"λ = {lam:g}": regularization.predict(grid_x, penal), "no penalty": regularization.predict(grid_x, plain)}
cols[0].plotly_chart(figures.poly_fit(points, grid_x, fitted, truth), key="of_reg_fit")
cols[1].plotly_chart(figures.coefficients({"no penalty": plain, f"λ = {lam:g}": penal}), key="of_coefs")
if ss.of_penalty.startswith("L2"):
    decays, path = _ridge(data_cfg, reg_degree)
    st.plotly_chart(figures.coefficient_paths(decays, path, lam), key="of_paths")
    st.caption("Every coefficient shrinks towards 0 as the weight decay grows (the dashed line is your λ).")
    code_panel(regularization.l2_code(data_cfg, reg_degree, lam, penal, val_penal),
               title="PyTorch code: L2 penalty")
else:
    code_panel(regularization.l1_code(data_cfg, l1_cfg, val_penal), title="PyTorch code: L1 penalty")

# ---------------------------------------------------------------------------------------------------------------
st.subheader("3 · Early stopping")
st.markdown("Train a high-degree polynomial by gradient descent and watch both errors at every step: the "
            "validation error bottoms out and then rises while the training error keeps falling. Early stopping "
            "halts once the validation error has not improved for `patience` steps and keeps the best weights.")
c = st.columns(4)
c[0].select_slider("Learning rate (Adam)", LRS, key="of_lr")
c[1].slider("Steps", 100, 4000, step=100, key="of_steps")
c[2].slider("Patience", 10, 1000, step=10, key="of_patience")
c[3].slider("Number of folds K (section 4)", 2, 10, key="of_k")
gd_cfg = regularization.GDConfig(degree=reg_degree, lr=ss.of_lr, steps=ss.of_steps, patience=ss.of_patience)
run = _gd(data_cfg, gd_cfg, "of_cancel_es")
marks = {f"best: step {run.best_step}": run.best_step}
if run.stop_step is not None:
    marks[f"stop: step {run.stop_step}"] = run.stop_step
m = st.columns(4)
m[0].metric("Lowest validation MSE", f"{min(run.val_loss):.4f}", help=f"at step {run.best_step}")
m[1].metric("Early stopping halts at", "never" if run.stop_step is None else f"step {run.stop_step}")
m[2].metric("Kept weights: validation MSE", f"{run.val_loss[run.early_step]:.4f}",
            help=f"the best weights seen before halting, from step {run.early_step}")
m[3].metric("After all steps: validation MSE", f"{run.val_loss[-1]:.4f}")
cols = st.columns(2)
steps_x = list(range(len(run.train_loss)))
cols[0].plotly_chart(figures.error_curves(steps_x, {"training": run.train_loss, "validation": run.val_loss},
                                          x_title="training step", marks=marks), key="of_es_curve")
fitted = {f"early stopped (step {run.early_step})": regularization.predict(grid_x, run.early_coef.double()),
          f"after {gd_cfg.steps} steps": regularization.predict(grid_x, run.coef.double())}
cols[1].plotly_chart(figures.poly_fit(points, grid_x, fitted, truth), key="of_es_fit")
st.caption(f"Degree {reg_degree} (the degree of section 2), from zero weights, full-batch Adam.")
code_panel(regularization.early_code(data_cfg, gd_cfg, run))

# ---------------------------------------------------------------------------------------------------------------
st.subheader("4 · K-fold cross-validation")
k = min(ss.of_k, ss.of_n)


@st.cache_data(max_entries=64, show_spinner=False)
def _kfold(cfg: regularization.PolyData, k: int, degree: int):
    pts = _points(cfg)
    folds = regularization.kfold_assignment(len(pts.x_train), k, seed=cfg.seed)
    errors = regularization.kfold_errors(pts.x_train, pts.y_train, degree, folds)
    return folds, errors, regularization.kfold_curve(pts.x_train, pts.y_train, folds, 15)


folds, errors, cv_curve = _kfold(data_cfg, k, degree)
cv_best = int(np.argmin(cv_curve))
st.markdown(f"The {ss.of_n} training points are shuffled and cut into **K = {k}** folds. Each round fits on "
            f"K-1 folds and scores the one held out; every point is held out exactly once. No separate "
            f"validation set is needed.")
order = torch.argsort(points.x_train)
st.plotly_chart(figures.kfold_grid(folds[order], k), key="of_kfold_grid")
cols = st.columns(2)
cols[0].plotly_chart(figures.fold_errors(errors), key="of_fold_errors")
cols[0].caption(f"Degree {degree}: each round's validation MSE and their mean.")
cols[1].plotly_chart(figures.error_curves(list(range(16)), {"K-fold mean": cv_curve, "held-out validation":
                                                            curve.val_mse}, x_title="degree",
                                          marks={f"K-fold picks {cv_best}": cv_best}), key="of_cv_curve")
cols[1].caption("Cross-validation chooses a degree from the training points alone; the held-out validation "
                "points agree on the shape of the curve.")
m = st.columns(3)
m[0].metric(f"K-fold mean MSE, degree {degree}", f"{float(np.mean(errors)):.4g}")
m[1].metric("Degree K-fold picks", cv_best)
m[2].metric("Degree validation picks", best)
code_panel(regularization.kfold_code(data_cfg, k, degree, errors))
