"""torch.gather: which input cell lands in each output cell, for any dim; presets and the code behind them."""

import re
from dataclasses import dataclass

import torch

from core.parsing import InputError
from core.tensor_common import generator, printed


@dataclass(frozen=True, eq=False)
class Gather:
    input: torch.Tensor
    dim: int  # normalised to 0..ndim-1
    index: torch.Tensor
    out: torch.Tensor  # torch.gather(input, dim, index)
    sources: torch.Tensor  # (*index.shape, ndim): the input coordinates each output cell came from

    def rule(self) -> str:
        """The gather rule for this dim, e.g. out[i][j] = input[i][index[i][j]] for dim=1."""
        names = "ijklmnop"[: self.input.dim()]
        pos = "".join(f"[{c}]" for c in names)
        src = "".join(f"[index{pos}]" if k == self.dim else f"[{c}]" for k, c in enumerate(names))
        return f"out{pos} = input{src}"

    def explain(self, cell: tuple[int, ...]) -> str:
        """The rule filled in for one output cell, e.g. out[1][0] = input[index[1][0]][0] = input[1][0] = 3."""
        pos = "".join(f"[{c}]" for c in cell)
        src = tuple(int(v) for v in self.sources[cell])
        with_index = "".join(f"[index{pos}]" if k == self.dim else f"[{c}]" for k, c in enumerate(cell))
        return (f"out{pos} = input{with_index} = input{''.join(f'[{s}]' for s in src)} = "
                f"{_num(self.out[cell].item())}")


def _num(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def check_gather(input_shape: tuple[int, ...], dim: int, index: torch.Tensor) -> int:
    """torch's rules for gather, with a message per rule; returns dim in 0..ndim-1."""
    nd = len(input_shape)
    if nd == 0:
        raise InputError("gather needs an input with at least one dimension.")
    if not -nd <= dim < nd:
        raise InputError(f"dim={dim} does not exist: the input has {nd} dimension{'s' * (nd != 1)}, "
                         f"so dim must be in {-nd}..{nd - 1}.")
    dim %= nd
    if index.dim() != nd:
        raise InputError(f"index has {index.dim()} dimension{'s' * (index.dim() != 1)} but input has {nd}: gather "
                         "needs the same number (index.unsqueeze(...) adds a missing one).")
    for d in range(nd):
        if d != dim and index.shape[d] > input_shape[d]:
            raise InputError(f"index has size {index.shape[d]} in dim {d} but input has only {input_shape[d]}: "
                             f"apart from dim {dim}, index may not be larger than input.")
    size = input_shape[dim]
    bad = (index < 0) | (index >= size)
    if bad.any():
        where = tuple(int(i) for i in bad.nonzero()[0])
        raise InputError(f"index[{', '.join(map(str, where))}] = {int(index[where])} is out of range: it picks along "
                         f"dim {dim}, where input has size {size}, so every index must be in 0..{size - 1}.")
    return dim


def gather(input: torch.Tensor, dim: int, index: torch.Tensor) -> Gather:
    """torch.gather plus, for every output cell, the input cell it came from.

    Example: gather(tensor([[1, 2], [3, 4]]), 1, tensor([[0, 0], [1, 0]])).out -> tensor([[1, 1], [4, 3]])
    """
    index = torch.as_tensor(index, dtype=torch.long)
    dim = check_gather(tuple(input.shape), dim, index)
    out = torch.gather(input, dim, index)
    grids = list(torch.meshgrid(*[torch.arange(s) for s in index.shape], indexing="ij"))
    grids[dim] = index  # along `dim` the coordinate comes from index; elsewhere it is the output's own
    return Gather(input, dim, index, out, torch.stack(grids, dim=-1))


@dataclass(frozen=True)
class GatherPreset:
    name: str
    input: list
    index: list
    dim: int
    note: str


def gather_presets(seed: int = 0) -> dict[str, GatherPreset]:
    """The worked example, the classification use (pick each sample's probability of its label), and dim=0."""
    g = generator(seed)
    logits = torch.randn(4, 5, generator=g)
    probs = logits.softmax(dim=1).mul(100).round().div(100)  # 2 decimals, so the cells stay readable
    labels = torch.randint(0, 5, (4,), generator=g)
    return {
        "worked": GatherPreset(
            "Worked example", [[1, 2], [3, 4]], [[0, 0], [1, 0]], 1,
            "torch.gather(torch.tensor([[1, 2], [3, 4]]), 1, torch.tensor([[0, 0], [1, 0]])) gives [[1, 1], [4, 3]]: "
            "in row 0 take columns 0 and 0, in row 1 take columns 1 and 0."),
        "label": GatherPreset(
            "Pick the label's probability", probs.tolist(), labels.unsqueeze(1).tolist(), 1,
            "Classification: probs has one row per sample and one column per class. index = labels.unsqueeze(1) "
            "picks, in each row, the probability of that sample's true label; the loss is -log of it."),
        "dim0": GatherPreset(
            "Along dim 0", [[10, 11, 12], [20, 21, 22], [30, 31, 32]], [[2, 0, 1], [0, 0, 2]], 0,
            "With dim=0 the index chooses the row and the column stays: out[i][j] = input[index[i][j]][j]."),
    }


def random_gather(rows: int, cols: int, index_rows: int, index_cols: int, dim: int, seed: int):
    """A random input (whole numbers) and a valid random index for `dim`. Returns (input, index) tensors."""
    g = generator(seed)
    x = torch.randint(0, 100, (rows, cols), generator=g)
    size = (rows, cols)[dim % 2]
    index = torch.randint(0, size, (index_rows, index_cols), generator=g)
    return x, index


def literal(t: torch.Tensor) -> list:
    """A tensor as a Python list that reads well (floats to 4 decimals) and rebuilds the same tensor."""
    return t.double().round(decimals=4).tolist() if t.dtype.is_floating_point else t.tolist()


def source_text(values: list) -> str:
    """A nested list as Python source: inf and nan (valid input, not Python names) become float('inf') ..."""
    return re.sub(r"\b(inf|nan)\b", r"float('\1')", str(values))


def gather_code(g: Gather, dim: int, *, classification: bool = False) -> str:
    """torch.gather on the tensors shown (`dim` as the learner chose it); the label preset adds the loss use."""
    values = literal(g.input)
    out = torch.gather(torch.tensor(values), g.dim, g.index)  # what the panel's own literal gives
    lines = [
        "import torch",
        "",
        f"input = torch.tensor({source_text(values)})",
        f"index = torch.tensor({g.index.tolist()})",
        f"out = torch.gather(input, {dim}, index)  # same as input.gather({dim}, index)",
        f"print(out)  # {printed(out)}",
    ]
    if classification:
        lines += [
            "",
            "# the classification use: the probability each sample gives to its true label",
            "probs, labels = input, index.squeeze(1)  # probs: (batch, classes), labels: (batch,)",
            "picked = probs.gather(1, labels.unsqueeze(1)).squeeze(1)  # (batch,)",
            "loss = -picked.log().mean()  # what F.nll_loss(probs.log(), labels) computes",
        ]
    return "\n".join(lines) + "\n"
