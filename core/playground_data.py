"""The playground's data: 2D points in [-6, 6]^2 drawn with a seed, the learner's own points, and the input features.

Every generator is self-contained (torch and math only), so the playground's exported script can carry its source
and draw the very same points:

    x, y = circles(400, noise=0.1, generator=torch.Generator().manual_seed(0))   # (400, 2), (400,) class 0/1
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from core.parsing import InputError

EXTENT = 6.0  # the plane drawn: [-6, 6] x [-6, 6]
MAX_OWN_POINTS = 200  # the learner's clicked points kept (and carried by a share link)
MAX_POINTS = 1000  # generated points at most


def gauss(n: int, noise: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Two Gaussian clouds around (2, 2) and (-2, -2); noise widens them until they overlap."""
    y = torch.arange(n) % 2  # (n,) alternating classes
    centre = torch.where(y[:, None] == 1, 2.0, -2.0)  # (n, 1)
    x = centre + torch.randn(n, 2, generator=generator) * (0.5 + 4 * noise)
    return x, y


def circles(n: int, noise: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """A disc (class 1) inside a ring (class 0): no straight line separates them."""
    y = torch.arange(n) % 2
    r = torch.where(y == 1, torch.rand(n, generator=generator) * 2.5,
                    3.5 + torch.rand(n, generator=generator) * 1.5)  # (n,) radius
    angle = torch.rand(n, generator=generator) * 2 * math.pi
    x = torch.stack([r * torch.cos(angle), r * torch.sin(angle)], dim=1)  # (n, 2)
    return x + torch.randn(n, 2, generator=generator) * 2 * noise, y


def xor(n: int, noise: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Four quadrants: class 1 where x1 and x2 have the same sign."""
    x = (torch.rand(n, 2, generator=generator) * 2 - 1) * 5  # (n, 2) in [-5, 5]
    x = x + torch.sign(x) * 0.3  # a small gap along the axes
    y = ((x[:, 0] > 0) == (x[:, 1] > 0)).long()
    return x + torch.randn(n, 2, generator=generator) * 2 * noise, y


def spiral(n: int, noise: float, generator: torch.Generator, classes: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """`classes` spiral arms winding out from the centre, one per class."""
    y = torch.arange(n) % classes
    t = torch.rand(n, generator=generator)  # (n,) position along the arm
    r = t * 5
    angle = 1.75 * t * 2 * math.pi + y * 2 * math.pi / classes
    x = torch.stack([r * torch.sin(angle), r * torch.cos(angle)], dim=1)
    return x + torch.randn(n, 2, generator=generator) * 2 * noise, y


def moons(n: int, noise: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Two interleaving half circles."""
    y = torch.arange(n) % 2
    t = torch.rand(n, generator=generator) * math.pi
    upper = torch.stack([torch.cos(t), torch.sin(t)], dim=1)  # (n, 2)
    lower = torch.stack([1 - torch.cos(t), 0.5 - torch.sin(t)], dim=1)
    x = (torch.where(y[:, None] == 0, upper, lower) - torch.tensor([0.5, 0.25])) * 3.5
    return x + torch.randn(n, 2, generator=generator) * 2 * noise, y


def blobs(n: int, noise: float, generator: torch.Generator, classes: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """`classes` Gaussian clouds on a circle of radius 3.5."""
    y = torch.arange(n) % classes
    angle = y * 2 * math.pi / classes
    centre = torch.stack([3.5 * torch.cos(angle), 3.5 * torch.sin(angle)], dim=1)  # (n, 2)
    return centre + torch.randn(n, 2, generator=generator) * (0.6 + 3 * noise), y


def plane(n: int, noise: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Regression: the target rises linearly from one corner to the other, in [-1, 1]."""
    x = (torch.rand(n, 2, generator=generator) * 2 - 1) * 5
    target = (x[:, 0] + x[:, 1]) / 10
    return x, target + torch.randn(n, generator=generator) * noise


def bumps(n: int, noise: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Regression: two hills and two valleys (a sum of Gaussians), in [-1, 1]."""
    x = (torch.rand(n, 2, generator=generator) * 2 - 1) * 5
    centres = torch.tensor([[-2.5, -2.5], [2.5, 2.5], [-2.5, 2.5], [2.5, -2.5]])
    signs = torch.tensor([1.0, 1.0, -1.0, -1.0])
    d2 = ((x[:, None, :] - centres[None]) ** 2).sum(-1)  # (n, 4) squared distances
    target = (signs * torch.exp(-d2 / 4)).sum(1)
    return x, target + torch.randn(n, generator=generator) * noise


@dataclass(frozen=True)
class Dataset2D:
    label: str
    fn: object  # one of the generators above
    regression: bool = False
    many: bool = False  # takes a number of classes (3-5)


DATASETS: dict[str, Dataset2D] = {
    "circles": Dataset2D("Circles", circles),
    "xor": Dataset2D("XOR", xor),
    "gauss": Dataset2D("Two Gaussians", gauss),
    "spiral": Dataset2D("Two spirals", spiral),
    "moons": Dataset2D("Moons", moons),
    "blobs": Dataset2D("Blobs (3-5 classes)", blobs, many=True),
    "arms": Dataset2D("Spiral arms (3-5 classes)", spiral, many=True),
    "plane": Dataset2D("Plane (regression)", plane, regression=True),
    "bumps": Dataset2D("Hills and valleys (regression)", bumps, regression=True),
}

FEATURES = {  # name -> the expression of the exported script (x1 = x[:, 0], x2 = x[:, 1])
    "x1": "x1", "x2": "x2", "x1^2": "x1 ** 2", "x2^2": "x2 ** 2", "x1*x2": "x1 * x2",
    "sin(x1)": "torch.sin(x1)", "sin(x2)": "torch.sin(x2)",
}


def features(x: torch.Tensor, names: tuple[str, ...]) -> torch.Tensor:
    """The chosen input features of 2D points. Example: features(tensor([[2., 3.]]), ("x1", "x1*x2")) -> [[2., 6.]]"""
    x1, x2 = x[:, 0], x[:, 1]
    columns = {"x1": x1, "x2": x2, "x1^2": x1 ** 2, "x2^2": x2 ** 2, "x1*x2": x1 * x2,
               "sin(x1)": torch.sin(x1), "sin(x2)": torch.sin(x2)}
    return torch.stack([columns[name] for name in names], dim=1)  # (N, len(names))


@dataclass(frozen=True)
class DataConfig:
    name: str = "circles"  # a key of DATASETS
    n: int = 400  # points generated
    noise: float = 0.1  # 0 .. 0.5
    test_fraction: float = 0.5  # of the generated points, held out for testing
    classes: int = 3  # for the 3-5 class datasets
    seed: int = 0
    own: tuple[tuple[float, float, float], ...] = ()  # the learner's points (x1, x2, class or target): training data
    removed: tuple[int, ...] = ()  # indices of generated points the learner removed

    @property
    def spec(self) -> Dataset2D:
        return DATASETS[self.name]

    @property
    def n_classes(self) -> int:
        """1 for regression."""
        if self.spec.regression:
            return 1
        return self.classes if self.spec.many else 2


@dataclass(frozen=True, eq=False)
class Points:
    x_train: torch.Tensor  # (N, 2)
    y_train: torch.Tensor  # (N,) long classes, or float targets for regression
    x_test: torch.Tensor
    y_test: torch.Tensor
    train_ids: torch.Tensor  # (N,) index of each training point among the generated ones (-1-k: own point k)
    test_ids: torch.Tensor


def generate(cfg: DataConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """All generated points and their labels (before the split and the learner's edits)."""
    g = torch.Generator().manual_seed(cfg.seed)
    if cfg.spec.many:
        return cfg.spec.fn(cfg.n, cfg.noise, g, cfg.classes)
    return cfg.spec.fn(cfg.n, cfg.noise, g)


def split(cfg: DataConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices of the generated points held for training and for testing (seeded, before any removal)."""
    order = torch.randperm(cfg.n, generator=torch.Generator().manual_seed(cfg.seed + 1))
    n_test = round(cfg.n * cfg.test_fraction)
    return order[n_test:], order[:n_test]


def points(cfg: DataConfig) -> Points:
    """The training and test points: generated, split, minus the removed ones; the learner's own points train."""
    x, y = generate(cfg)
    train_ids, test_ids = split(cfg)
    if cfg.removed:
        gone = torch.zeros(cfg.n, dtype=torch.bool)
        gone[torch.tensor([i for i in cfg.removed if 0 <= i < cfg.n], dtype=torch.long)] = True
        train_ids, test_ids = train_ids[~gone[train_ids]], test_ids[~gone[test_ids]]
    x_train, y_train = x[train_ids], y[train_ids]
    if cfg.own:
        own = torch.tensor(cfg.own, dtype=torch.float32)  # (k, 3)
        x_train = torch.cat([x_train, own[:, :2]])
        labels = own[:, 2] if cfg.spec.regression else own[:, 2].long()
        y_train = torch.cat([y_train, labels])
        train_ids = torch.cat([train_ids, -1 - torch.arange(len(cfg.own))])
    return Points(x_train, y_train, x[test_ids], y[test_ids], train_ids, test_ids)


def nearest(pts: Points, x1: float, x2: float, radius: float = 0.5) -> int | None:
    """The id (as in train_ids/test_ids) of the data point nearest (x1, x2) within `radius`, else None."""
    xs = torch.cat([pts.x_train, pts.x_test])
    ids = torch.cat([pts.train_ids, pts.test_ids])
    if not len(xs):
        return None
    d = ((xs - torch.tensor([x1, x2])) ** 2).sum(1)
    i = int(d.argmin())
    return int(ids[i]) if float(d[i]) <= radius ** 2 else None


def remove(cfg_own: tuple, removed: tuple[int, ...], point_id: int) -> tuple[tuple, tuple[int, ...]]:
    """(own points, removed ids) after removing one point: an own point leaves the list, a generated one is marked."""
    if point_id < 0:
        k = -1 - point_id
        return cfg_own[:k] + cfg_own[k + 1:], removed
    return cfg_own, tuple(sorted(set(removed) | {point_id}))


def parse_own(text: str, n_classes: int) -> tuple[tuple[float, float, float], ...]:
    """Own points from their link text "x1,x2,label;..." (labels: class numbers, or targets for regression)."""
    out = []
    for item in [part for part in text.split(";") if part.strip()]:
        fields = item.split(",")
        if len(fields) != 3:
            raise InputError("own points must be written x1,x2,label;x1,x2,label;...")
        try:
            a, b, c = (float(f) for f in fields)
        except ValueError:
            raise InputError("own points must be numbers: x1,x2,label;...") from None
        if not all(math.isfinite(v) for v in (a, b, c)) or abs(a) > EXTENT or abs(b) > EXTENT:
            raise InputError(f"own points must lie in [-{EXTENT:g}, {EXTENT:g}] on both axes")
        if n_classes > 1 and (c != int(c) or not 0 <= c < n_classes):
            raise InputError(f"an own point's class must be a whole number from 0 to {n_classes - 1}")
        if n_classes == 1 and abs(c) > 1:
            raise InputError("an own point's target must lie in [-1, 1]")
        out.append((a, b, c))
        if len(out) > MAX_OWN_POINTS:
            raise InputError(f"at most {MAX_OWN_POINTS} own points")
    return tuple(out)


def dump_own(own: tuple[tuple[float, float, float], ...]) -> str:
    """Example: dump_own(((1.25, -2.0, 1.0),)) -> "1.25,-2,1" """
    return ";".join(f"{a:.4g},{b:.4g},{c:.4g}" for a, b, c in own)


def parse_ids(text: str, n: int) -> tuple[int, ...]:
    """Removed point ids from "3,17,42" (each below n)."""
    try:
        ids = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise InputError("removed points must be whole numbers separated by commas") from None
    if any(not 0 <= i < n for i in ids):
        raise InputError(f"removed points must be numbers from 0 to {n - 1}")
    return tuple(ids)


def data_code(cfg: DataConfig, names: tuple[str, ...]) -> str:
    """The data part of the exported script: the generator's own source, the split, the edits and the features."""
    import inspect

    fn = cfg.spec.fn
    call = f"{fn.__name__}({cfg.n}, {cfg.noise!r}, torch.Generator().manual_seed({cfg.seed})" + (
        f", {cfg.classes})" if cfg.spec.many else ")")
    lines = [inspect.getsource(fn), "",
             f"x, y = {call}",
             f"order = torch.randperm({cfg.n}, generator=torch.Generator().manual_seed({cfg.seed + 1}))",
             f"test_ids, train_ids = order[:{round(cfg.n * cfg.test_fraction)}], order[{round(cfg.n * cfg.test_fraction)}:]"]
    if cfg.removed:
        lines += [f"removed = torch.tensor({list(cfg.removed)})  # points you removed",
                  "train_ids = train_ids[~torch.isin(train_ids, removed)]",
                  "test_ids = test_ids[~torch.isin(test_ids, removed)]"]
    lines += ["x_train, y_train, x_test, y_test = x[train_ids], y[train_ids], x[test_ids], y[test_ids]"]
    if cfg.own:
        label = "own[:, 2]" if cfg.spec.regression else "own[:, 2].long()"
        lines += [f"own = torch.tensor({[list(p) for p in cfg.own]})  # points you added (x1, x2, label)",
                  "x_train = torch.cat([x_train, own[:, :2]])",
                  f"y_train = torch.cat([y_train, {label}])"]
    columns = ", ".join(FEATURES[name] for name in names)
    lines += ["", "", "def features(x):", "    x1, x2 = x[:, 0], x[:, 1]",
              f"    return torch.stack([{columns}], dim=1)  # {', '.join(names)}", ""]
    return "\n".join(lines)
