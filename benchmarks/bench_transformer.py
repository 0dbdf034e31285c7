"""Speed of the Sequences & attention section's training:

- the tiny transformer on sorting (core.transformer_training.CharTrainer, default sizes and task: 8 letters from
  an alphabet of 10, batch 64): training time and steps until greedy decoding gets >= 95% of 500 fresh problems
  entirely right (the unit tests only check a cheaper milestone), and steps/s;
- steps/s on the built-in Python-docs corpus (context 64, batch 64);
- with --recurrent: the recurrent lesson's default training run (core.recurrent.train) for each cell (target < 2 s).

Accuracy is measured every --check-every steps and not counted in the training time. Wall time on a shared
machine includes the time other processes hold the cores; the CPU time of this thread is reported beside it.

    .venv/bin/python benchmarks/bench_transformer.py
    .venv/bin/python benchmarks/bench_transformer.py --threads 2 --recurrent
"""

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def sorting(args) -> None:
    from core.char_tasks import TaskConfig, char_task
    from core.transformer_training import CharTrainer, TrainSettings

    task = char_task(TaskConfig("sort", length=args.length, letters=args.letters))
    trainer = CharTrainer(task, TrainSettings(batch=args.batch, seed=args.seed))
    print(f"sorting {args.length} letters from {args.letters}: {trainer.n_params:,} parameters, batch {args.batch}, "
          f"seed {args.seed}")
    cpu, accuracy, t_start = 0.0, 0.0, time.perf_counter()
    while trainer.train_seconds < args.max_seconds:
        c0 = time.thread_time()
        trainer.train_steps(args.check_every)
        cpu += time.thread_time() - c0
        accuracy = trainer.exact_accuracy(500)
        print(f"  step {trainer.step:5d}  loss {trainer.losses[-1]:.4f}  exact accuracy {accuracy:6.1%}  "
              f"train {trainer.train_seconds:6.1f} s", flush=True)
        if accuracy >= 0.95:
            break
    verdict = "reached" if accuracy >= 0.95 else "did NOT reach"
    print(f"{verdict} 95% exact accuracy after {trainer.step} steps: {trainer.train_seconds:.1f} s of training "
          f"({cpu:.1f} s CPU), {time.perf_counter() - t_start:.1f} s with the checks; "
          f"{trainer.steps_per_second:.1f} steps/s")


def corpus_speed(args) -> None:
    from core.char_tasks import corpus
    from core.transformer_training import CharTrainer, TrainSettings

    data = corpus(context=64)
    trainer = CharTrainer(data, TrainSettings(batch=args.batch, seed=args.seed))
    trainer.train_steps(2)  # warm-up
    seconds = trainer.train_seconds
    c0 = time.thread_time()
    trainer.train_steps(args.corpus_steps)
    cpu = time.thread_time() - c0
    rate = args.corpus_steps / (trainer.train_seconds - seconds)
    print(f"Python docs corpus ({len(data.text):,} characters, vocab {len(data.vocab)}, context 64, "
          f"{trainer.n_params:,} parameters): {rate:.1f} steps/s ({args.corpus_steps / cpu:.1f} per CPU second), "
          f"loss {trainer.losses[0]:.3f} -> {trainer.losses[-1]:.3f} after {trainer.step} steps")


def recurrent_runs() -> None:
    from core import recurrent

    for cell in recurrent.CELLS:
        c0 = time.thread_time()
        run = recurrent.train(recurrent.SeqConfig(cell=cell))
        print(f"recurrent default ({run.cfg.task}, {cell}, {run.cfg.steps} steps): {run.seconds:.2f} s "
              f"({time.thread_time() - c0:.2f} s CPU), accuracy {run.accuracy:.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1: a shared machine)")
    parser.add_argument("--length", type=int, default=8)
    parser.add_argument("--letters", type=int, default=10)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--check-every", type=int, default=50)
    parser.add_argument("--max-seconds", type=float, default=300.0, help="give up after this much training")
    parser.add_argument("--corpus-steps", type=int, default=20)
    parser.add_argument("--recurrent", action="store_true", help="also time the recurrent lesson's default runs")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s)")
    sorting(args)
    corpus_speed(args)
    if args.recurrent:
        recurrent_runs()


if __name__ == "__main__":
    main()
