"""DataLoader over a torchvision dataset vs batches cut from an in-memory uint8 tensor (the Training studio's way),
on MNIST with ToTensor + Normalize, batch 64. The Data pipeline lesson measures the first two rows live; worker
processes are measured only here (a lesson does not start processes on a shared server).

    .venv/bin/python benchmarks/bench_pipeline.py [--batches 200]
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=200)
    args = parser.parse_args()
    import torch

    from core import pipeline
    from core.datasets import load_shared

    ds = pipeline.dataset("mnist", transform=pipeline.compose(pipeline.Spec(), "mnist", 28))
    x = load_shared("mnist").x_train
    mean, std = (s[0] for s in pipeline.stats("mnist"))
    rows = []
    for workers in (0, 2):
        dl = torch.utils.data.DataLoader(ds, batch_size=64, shuffle=True, num_workers=workers,
                                         generator=torch.Generator().manual_seed(0))
        start = time.perf_counter()
        n = 0
        for i, (images, _) in enumerate(dl):
            n += len(images)
            if i + 1 == args.batches:
                break
        rows.append((f"DataLoader, num_workers={workers}", time.perf_counter() - start, n))
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    start = time.perf_counter()
    n = 0
    for i in range(args.batches):
        images = (x[order[i * 64:(i + 1) * 64]].float() / 255 - mean) / std
        n += len(images)
    rows.append(("in-memory uint8 slice, normalised", time.perf_counter() - start, n))
    print(f"load average {os.getloadavg()[0]:.2f}; torch threads {torch.get_num_threads()}; {args.batches} batches of 64")
    print(f"{'how':40} {'seconds':>8} {'images/s':>10} {'vs memory':>10}")
    for how, seconds, images in rows:
        print(f"{how:40} {seconds:8.3f} {images / seconds:10,.0f} {seconds / rows[-1][1]:9.0f}x")


if __name__ == "__main__":
    main()
