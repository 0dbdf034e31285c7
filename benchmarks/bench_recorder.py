"""What looking inside training costs, on MNIST and 2 CPU cores (targets in brackets):

    .venv/bin/python benchmarks/bench_recorder.py recorder     # Trainer with a Recorder every 10 steps [<= 10% slower]
    .venv/bin/python benchmarks/bench_recorder.py lr-finder    # the LR range test, 3 seeds x 100 batches [<= 20 s, MLP]
                                                               # --fastnet: also the mnist-fast FastNet (no target)
    .venv/bin/python benchmarks/bench_recorder.py init         # 784-200-200-10, Kaiming vs default init, one epoch
    .venv/bin/python benchmarks/bench_recorder.py all

Options: --threads N (torch threads; default 2), --rounds R (recorder: alternating rounds, the median is kept),
--steps S (recorder: steps per round). The machine's load average is printed with every figure: shared machines
make timings noisy.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as app.py does, before torch is imported

import torch  # noqa: E402

from core.datasets import load_shared  # noqa: E402
from core.models import ModelConfig, build_model, default_config  # noqa: E402
from core.training import TrainConfig, Trainer  # noqa: E402


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def bench_recorder(data, rounds: int, steps: int) -> None:
    """Samples/s of Trainer.run with and without a Recorder(every=10), the two taking turns round by round; the
    median of the per-round ratios (a burst of load from elsewhere hits one round of one side, not the median).
    Also the share of the recorded run's time spent inside recorder.after_step (its own accounting)."""
    from core.recorder import Recorder, RecorderConfig

    models = {"MLP 784-200-200-10": ModelConfig("mlp"), "CNNNet (small CNN)": default_config("cnnnet", 1, 28),
              "LeNet-5": default_config("lenet5", 1, 28)}
    for label, model_cfg in models.items():
        cfg = TrainConfig("sgd", lr=0.05, momentum=0.9, batch_size=128, epochs=50, val_fraction=0.0,
                          test_every_epoch=False, log_every=50)
        trainers = {}
        for recorded in (False, True):
            trainer = Trainer(build_model(model_cfg, seed=0), data, cfg)
            if recorded:
                trainer.recorder = Recorder(trainer.model, RecorderConfig(every=10))
            trainer.run(max_steps=10)  # warm-up
            trainers[recorded] = trainer
        rec = trainers[True].recorder
        inside = [0.0]
        after_step = rec.after_step

        def timed(lr, after_step=after_step, inside=inside):
            t = time.perf_counter()
            out = after_step(lr)
            inside[0] += time.perf_counter() - t
            return out

        rec.after_step = timed
        ratios, seconds = [], {False: 0.0, True: 0.0}
        for _ in range(rounds):
            took = {}
            for recorded, trainer in trainers.items():
                t0 = time.perf_counter()
                trainer.run(max_steps=steps)
                took[recorded] = time.perf_counter() - t0
                seconds[recorded] += took[recorded]
            ratios.append(took[False] / took[True])
        ratio = statistics.median(ratios)
        plain = rounds * steps * cfg.batch_size / seconds[False]
        rec.close()
        print(f"recorder  {label:20s} plain {plain:6.0f} samples/s  recorded/plain throughput: median {ratio:.3f} "
              f"(cost {1 - ratio:+.1%}; rounds {min(ratios):.2f}..{max(ratios):.2f})  in after_step: "
              f"{inside[0] / seconds[True]:.1%} of the recorded run, {inside[0] / len(rec.records) * 1e3:.1f} ms "
              f"per record  load {_load()}", flush=True)


def bench_lr_finder(data, fastnet: bool) -> None:
    """The whole finder (3 seeds x up to 100 batches, copies, checksums) on the MLP (and the mnist-fast FastNet)."""
    from core.lr_finder import FinderConfig, find_lr
    from core.presets import presets
    from core.training import make_optimizer

    fast = presets()["mnist-fast"]
    cases = {"MLP 784-200-200-10, Adam": (ModelConfig("mlp"), TrainConfig("adam", lr=1e-3))}
    if fastnet:
        cases["FastNet x0.5 (mnist-fast)"] = (fast.model, fast.train)
    for label, (model_cfg, train_cfg) in cases.items():
        model = build_model(model_cfg, seed=0)
        optimizer = make_optimizer(model.parameters(), train_cfg)
        t0 = time.perf_counter()
        result = find_lr(model, optimizer, data, FinderConfig(batch_size=train_cfg.batch_size))
        seconds = time.perf_counter() - t0
        steps = [len(t.lrs) for t in result.tests]
        print(f"lr-finder {label:26s} {seconds:5.1f} s  steps per seed {steps}  suggested lr {result.suggested:.3g}  "
              f"untouched {result.untouched}  load {_load()}", flush=True)


def bench_init(data) -> None:
    """One epoch of the classic MLP from two initialisations (what the page trains side by side)."""
    from core.init_depth import compare_inits

    t0 = time.perf_counter()
    curves = compare_inits(data)
    seconds = time.perf_counter() - t0
    summary = ", ".join(f"{c.init}: first loss {c.losses[0]:.3f}, test acc {c.test_acc:.4f}" for c in curves)
    print(f"init      two MLPs x one epoch {seconds:5.1f} s  ({summary})  load {_load()}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("recorder", "lr-finder", "init", "all"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--fastnet", action="store_true", help="lr-finder: also the mnist-fast FastNet (~1-2 min)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = load_shared("mnist")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, load {_load()}", flush=True)
    if args.what in ("recorder", "all"):
        bench_recorder(data, args.rounds, args.steps)
    if args.what in ("lr-finder", "all"):
        bench_lr_finder(data, args.fastnet)
    if args.what in ("init", "all"):
        bench_init(data)


if __name__ == "__main__":
    main()
