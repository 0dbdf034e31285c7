"""The app's page registry: one list that app.py turns into st.navigation and the home page into a tour."""

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Lesson:
    path: str  # relative to the project root
    title: str
    icon: str  # a Material icon, as st.Page takes it
    blurb: str  # one line for the home page
    prefix: str = ""  # every widget key of the lesson starts with f"{prefix}_" (unique across lessons)
    parts: str | None = None  # key of the control that switches the lesson between parts (its options are the parts)
    legacy_prefix: str | None = None  # links made before the lesson got its own prefix used this one

    @property
    def url(self) -> str:
        """The page's URL path: its file name without the number, e.g. pages/30_optimizer_lab.py -> optimizer_lab.

        This is the name Streamlit itself gives a file in pages/. On a freshly started server Streamlit looks a
        link up by that name until app.py has run once, so a shared link must use it to find its lesson.
        """
        return re.sub(r"^\d+_", "", Path(self.path).stem)


SECTIONS: dict[str, list[Lesson]] = {
    "Tensors": [
        Lesson("pages/09_tensor_types.py", "Tensor types", ":material/data_object:",
               "dtypes and their bytes, what torch.tensor infers, type promotion, casts, NumPy memory.",
               prefix="ty", parts="ty_part"),
        Lesson("pages/10_broadcasting.py", "Broadcasting", ":material/open_in_full:",
               "Align shapes from the right, see which dims stretch; expand vs repeat.", prefix="bc"),
        Lesson("pages/11_gather.py", "gather", ":material/call_merge:",
               "Which input cell lands in each output cell, for any dim.", prefix="ga", parts="ga_mode"),
        Lesson("pages/12_topk.py", "topk, max, argmax", ":material/leaderboard:",
               "Select the largest k along a dim; keepdim; flattened vs per-dim argmax.", prefix="tk"),
        Lesson("pages/13_creation_indexing.py", "Creation, indexing & shape", ":material/grid_on:",
               "rand/arange/linspace..., slicing, masks, view vs reshape vs permute, strides.",
               prefix="cr", parts="cr_part"),
        Lesson("pages/14_combine_split.py", "Combine & split", ":material/join:",
               "cat vs stack, split and chunk, with the shape algebra.", prefix="cs", parts="cs_part"),
        Lesson("pages/15_math.py", "Math & statistics", ":material/functions:",
               "matmul with batch broadcasting, clamp, norm, reductions, where.", prefix="ma", parts="ma_part"),
        Lesson("pages/16_puzzles.py", "Tensor puzzles", ":material/extension:",
               "Loops to rewrite as one expression: broadcasting, indexing, arange, where.", prefix="pz"),
    ],
    "Functions & gradients": [
        Lesson("pages/20_activations.py", "Activations", ":material/show_chart:",
               "f(x) and f'(x) from autograd; where each activation saturates.", prefix="act"),
        Lesson("pages/21_losses.py", "Losses", ":material/trending_down:",
               "MSE, cross-entropy and friends, and the gradient each one sends back.", prefix="loss"),
        Lesson("pages/22_softmax.py", "Softmax", ":material/bar_chart:",
               "Temperature, the Jacobian, and why log-sum-exp keeps it stable.", prefix="sm"),
        Lesson("pages/23_gradient_descent.py", "Gradient descent in 1D", ":material/south_east:",
               "Step by step down a curve: too small, just right, oscillating, diverging.", prefix="gd"),
        Lesson("pages/24_linear_regression.py", "Linear regression", ":material/scatter_plot:",
               "A hand-derived gradient and torch.optim fit the same line.", prefix="lr"),
        Lesson("pages/25_backprop.py", "Chain rule & backprop", ":material/account_tree:",
               "Manual gradients next to .grad; retain_graph; forgetting zero_grad.", prefix="bp"),
        Lesson("pages/27_autograd_graph.py", "Autograd graph", ":material/account_tree:",
               "The graph autograd records, and the backward pass through it one node at a time.", prefix="ag"),
        Lesson("pages/26_from_scratch.py", "From scratch to nn.Module", ":material/stairs:",
               "One network trained five ways: by hand, autograd, autograd.Function, nn.Sequential, torch.optim.",
               prefix="fs", parts="fs_part"),
    ],
    "Optimization": [
        Lesson("pages/30_optimizer_lab.py", "Optimizer lab", ":material/explore:",
               "SGD, momentum, Adam... from torch.optim racing on 2D functions.", prefix="ol"),
        Lesson("pages/31_basins.py", "Basins of attraction", ":material/blur_on:",
               "Colour every start point by the minimum it reaches.", prefix="bs"),
    ],
    "Playground": [
        Lesson("pages/35_playground.py", "Neural network playground", ":material/bubble_chart:",
               "A small network learns 2D points live: every neuron's map, your own points, export as code.",
               prefix="pg"),
    ],
    "Networks": [
        Lesson("pages/40_convolution.py", "Convolution arithmetic", ":material/filter_center_focus:",
               "Output sizes, parameters, and the kernel sliding over the input.", prefix="cv"),
        Lesson("pages/41_filters.py", "Filters on an image", ":material/filter:",
               "Edge, blur and sharpen kernels on real MNIST/CIFAR images.", prefix="fl"),
        Lesson("pages/42_pooling.py", "Pooling & upsampling", ":material/photo_size_select_small:",
               "Max, average and adaptive pooling; nearest and bilinear interpolation.", prefix="pl"),
        Lesson("pages/43_batchnorm.py", "BatchNorm", ":material/equalizer:",
               "Batch vs running statistics, train vs eval, activations with and without BN.", prefix="bn"),
        Lesson("pages/44_dropout.py", "Dropout", ":material/grain:",
               "Random masks in train mode, identity in eval, and the 1/(1-p) scaling.", prefix="dr"),
        Lesson("pages/45_architectures.py", "Architectures", ":material/lan:",
               "LeNet to DenseNet: parameters, layer tables, FLOPs, key blocks.", prefix="ar"),
        Lesson("pages/46_module_anatomy.py", "nn.Module anatomy", ":material/widgets:",
               "One model built three ways; children, modules, parameters, state_dict.",
               prefix="an", legacy_prefix="ma"),  # its links once shared Math's "ma_" keys
        Lesson("pages/47_inside_network.py", "Inside a trained network", ":material/visibility:",
               "Filters, feature maps and probabilities of a model trained on MNIST.", prefix="in"),
        Lesson("pages/48_overfitting.py", "Overfitting & regularisation", ":material/tune:",
               "Polynomial degree, weight decay, early stopping, K-fold.", prefix="of"),
    ],
    "Training": [
        Lesson("pages/50_training_studio.py", "Training studio", ":material/model_training:",
               "Train on MNIST or CIFAR-10 with live curves, then inspect the model.", prefix="ts", parts="ts_dataset"),
        Lesson("pages/51_datasets.py", "Datasets", ":material/photo_library:",
               "MNIST, Fashion-MNIST, CIFAR-10 and your own ImageFolder, previewed.", prefix="dsb", parts="dsb_dataset"),
        Lesson("pages/53_data_pipeline.py", "Data pipeline", ":material/conveyor_belt:",
               "torchvision datasets, transforms and augmentations, DataLoader batches, your own Dataset.",
               prefix="dp", parts="dp_part"),
        Lesson("pages/54_inside_training.py", "See inside training", ":material/troubleshoot:",
               "Distributions per layer over time, a learning-rate finder, initialisation vs depth, one step in "
               "slow motion, why the model said 7, the model's map of the data.", prefix="it", parts="it_part"),
        Lesson("pages/52_draw_digit.py", "Draw a digit", ":material/draw:",
               "Draw a digit and watch an MNIST model classify it live.", prefix="dd"),
    ],
    "Sequences & attention": [
        Lesson("pages/60_embeddings.py", "Embeddings & positions", ":material/tag:",
               "nn.Embedding is a lookup (= one-hot @ W); sinusoidal and learned positional encodings.",
               prefix="em", parts="em_part"),
        Lesson("pages/61_recurrent.py", "Recurrent networks", ":material/replay:",
               "nn.RNN, LSTM and GRU on toy sequences: hidden state over time, vanishing gradients, gate shapes.",
               prefix="rn", parts="rn_part"),
        Lesson("pages/62_attention.py", "Attention by hand", ":material/center_focus_strong:",
               "Q, K, V, scores, the causal mask and softmax, equal to scaled_dot_product_attention.",
               prefix="at"),
        Lesson("pages/63_tiny_transformer.py", "A tiny transformer", ":material/auto_awesome:",
               "A character-level transformer trained live; its attention per head; sampling token by token.",
               prefix="tt"),
    ],
}

HOME = Lesson("pages/00_home.py", "Home", ":material/home:", "What each section teaches.")


def lessons() -> list[Lesson]:
    """Every lesson whose page file exists, in menu order."""
    return [lesson for group in SECTIONS.values() for lesson in group if (ROOT / lesson.path).exists()]


def by_url(url_path: str) -> Lesson | None:
    """The lesson served at this URL path (None for the home page or an unknown path)."""
    return next((lesson for group in SECTIONS.values() for lesson in group if lesson.url == url_path), None)


def by_path(path: str | Path) -> Lesson | None:
    """The lesson whose page file this is (absolute, or relative to the project root)."""
    target = (ROOT / path).resolve()
    return next((lesson for group in SECTIONS.values() for lesson in group
                 if (ROOT / lesson.path).resolve() == target), None)
