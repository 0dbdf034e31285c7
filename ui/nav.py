"""The app's page registry: one list that app.py turns into st.navigation and the home page into a tour."""

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Lesson:
    path: str  # relative to the project root
    title: str
    icon: str  # a Material icon, as st.Page takes it
    url: str  # the URL path, also used in shared links
    blurb: str  # one line for the home page


SECTIONS: dict[str, list[Lesson]] = {
    "Tensors": [
        Lesson("pages/10_broadcasting.py", "Broadcasting", ":material/open_in_full:", "broadcasting",
               "Align shapes from the right, see which dims stretch; expand vs repeat."),
        Lesson("pages/11_gather.py", "gather", ":material/call_merge:", "gather",
               "Which input cell lands in each output cell, for any dim."),
        Lesson("pages/12_topk.py", "topk, max, argmax", ":material/leaderboard:", "topk",
               "Select the largest k along a dim; keepdim; flattened vs per-dim argmax."),
        Lesson("pages/13_creation_indexing.py", "Creation, indexing & shape", ":material/grid_on:", "creation",
               "rand/arange/linspace..., slicing, masks, view vs reshape vs permute, strides."),
        Lesson("pages/14_combine_split.py", "Combine & split", ":material/join:", "combine",
               "cat vs stack, split and chunk, with the shape algebra."),
        Lesson("pages/15_math.py", "Math & statistics", ":material/functions:", "math",
               "matmul with batch broadcasting, clamp, norm, reductions, where."),
    ],
    "Functions & gradients": [
        Lesson("pages/20_activations.py", "Activations", ":material/show_chart:", "activations",
               "f(x) and f'(x) from autograd; where each activation saturates."),
        Lesson("pages/21_losses.py", "Losses", ":material/trending_down:", "losses",
               "MSE, cross-entropy and friends, and the gradient each one sends back."),
        Lesson("pages/22_softmax.py", "Softmax", ":material/bar_chart:", "softmax",
               "Temperature, the Jacobian, and why log-sum-exp keeps it stable."),
        Lesson("pages/23_gradient_descent.py", "Gradient descent in 1D", ":material/south_east:", "gradient-descent",
               "Step by step down a curve: too small, just right, oscillating, diverging."),
        Lesson("pages/24_linear_regression.py", "Linear regression", ":material/scatter_plot:", "linear-regression",
               "A hand-derived gradient and torch.optim fit the same line."),
        Lesson("pages/25_backprop.py", "Chain rule & backprop", ":material/account_tree:", "backprop",
               "Manual gradients next to .grad; retain_graph; forgetting zero_grad."),
    ],
    "Optimization": [
        Lesson("pages/30_optimizer_lab.py", "Optimizer lab", ":material/explore:", "optimizer-lab",
               "SGD, momentum, Adam... from torch.optim racing on 2D functions."),
        Lesson("pages/31_basins.py", "Basins of attraction", ":material/blur_on:", "basins",
               "Colour every start point by the minimum it reaches."),
    ],
    "Networks": [
        Lesson("pages/40_convolution.py", "Convolution arithmetic", ":material/filter_center_focus:", "convolution",
               "Output sizes, parameters, and the kernel sliding over the input."),
        Lesson("pages/41_filters.py", "Filters on an image", ":material/filter:", "filters",
               "Edge, blur and sharpen kernels on real MNIST/CIFAR images."),
        Lesson("pages/42_pooling.py", "Pooling & upsampling", ":material/photo_size_select_small:", "pooling",
               "Max, average and adaptive pooling; nearest and bilinear interpolation."),
        Lesson("pages/43_batchnorm.py", "BatchNorm", ":material/equalizer:", "batchnorm",
               "Batch vs running statistics, train vs eval, activations with and without BN."),
        Lesson("pages/44_dropout.py", "Dropout", ":material/grain:", "dropout",
               "Random masks in train mode, identity in eval, and the 1/(1-p) scaling."),
        Lesson("pages/45_architectures.py", "Architectures", ":material/lan:", "architectures",
               "LeNet to DenseNet: parameters, layer tables, FLOPs, key blocks."),
        Lesson("pages/46_module_anatomy.py", "nn.Module anatomy", ":material/widgets:", "module-anatomy",
               "One model built three ways; children, modules, parameters, state_dict."),
        Lesson("pages/47_inside_network.py", "Inside a trained network", ":material/visibility:", "inside-network",
               "Filters, feature maps and probabilities of a model trained on MNIST."),
        Lesson("pages/48_overfitting.py", "Overfitting & regularisation", ":material/tune:", "overfitting",
               "Polynomial degree, weight decay, early stopping, K-fold."),
    ],
    "Training": [
        Lesson("pages/50_training_studio.py", "Training studio", ":material/model_training:", "training",
               "Train on MNIST or CIFAR-10 with live curves, then inspect the model."),
        Lesson("pages/51_datasets.py", "Datasets", ":material/photo_library:", "datasets",
               "MNIST, Fashion-MNIST, CIFAR-10 and your own ImageFolder, previewed."),
        Lesson("pages/52_draw_digit.py", "Draw a digit", ":material/draw:", "draw-digit",
               "Draw a digit and watch an MNIST model classify it live."),
    ],
}

HOME = Lesson("pages/00_home.py", "Home", ":material/home:", "home", "What each section teaches.")


def lessons() -> list[Lesson]:
    """Every lesson whose page file exists, in menu order."""
    return [lesson for group in SECTIONS.values() for lesson in group if (ROOT / lesson.path).exists()]
