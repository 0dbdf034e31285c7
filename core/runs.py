"""A learner's training runs: each one a model, its data and settings, and a Trainer advanced in bursts.

    history = RunHistory()
    run = history.start("MNIST", data, ModelConfig("mlp"), TrainConfig("sgd", epochs=1))
    while run.state == "training":
        run.burst(1.0)                 # about a second of training, then back to the page
    run.state, run.test_acc            # -> "finished", 0.97

One run is trained by one thread at a time: `burst` holds the run's lock while it trains, and a second script run
of the same session (a widget's rerun while the live panel's burst is still going, a reloaded tab) finds it taken
and only draws. Pause and stop are requests that the training loop honours at the next step boundary, so no
finished step is lost and no step is taken twice. `RunStore` keeps a session's runs on the server while a tab
holds them, and for `grace_s` after the last tab holding them closed, so that a reloaded tab (a new session) finds
them again by a private token; then they are released (stopped, their models dropped, the freed memory handed
back to the system).
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

import torch
from torch import nn

from core import memory
from core.evaluation import predict
from core.image_data import ImageData
from core.models import ARCH_SHORT, ModelConfig, build_model
from core.slots import SLOTS, TrainingSlots
from core.training import DONE, OPTIMIZER_NAMES, TrainConfig, Trainer

MAX_RUNS = 8  # runs kept per learner (their models too)
TTL_S = 30 * 60  # a session's runs stay on the server this long after its last visit
GRACE_S = float(os.environ.get("PYLAB_RUNS_GRACE_S", 60))  # ... and this long after the last tab holding them closed
MAX_STORED = 64  # sessions kept at most (the least recently seen go first)


@dataclass(eq=False)
class Run:
    """One run: trained here (`trainer` set) or uploaded weights (`trainer` None)."""

    id: int
    dataset: str  # its name as the learner saw it, e.g. "MNIST"
    data: ImageData
    model_cfg: ModelConfig
    model: nn.Module
    train_cfg: TrainConfig | None = None  # None for uploaded weights
    trainer: Trainer | None = None
    file: str = ""  # the uploaded weights' file name
    test_acc: float | None = None  # the last test accuracy (once measured)
    started: float = field(default_factory=time.time)
    wants_training: bool = False  # the learner pressed Start/Resume and not Pause/Stop
    ahead: int | None = None  # while it waits for a training slot: runs before it in line (None: it trained last)
    slots: TrainingSlots = field(default=SLOTS, repr=False)  # the server's training slots, shared by every run
    figures: dict = field(default_factory=dict)  # figures of the results view, built once per model state
    _probs: torch.Tensor | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def state(self) -> str:
        """training | paused | ready | finished | stopped early | diverged | stopped | uploaded"""
        if self.trainer is None:
            return "uploaded"
        status = self.trainer.status
        if status in DONE:
            return status.replace("_", " ")
        if self.wants_training:
            return "training"
        return "paused" if self.trainer.step else "ready"

    @property
    def done(self) -> bool:
        return self.trainer is None or self.trainer.done

    @property
    def steps(self) -> int:
        return self.trainer.step if self.trainer else 0

    def label(self) -> str:
        """Example: '#3 MLP · SGD lr 0.05 · MNIST'"""
        t = self.train_cfg
        how = f"{OPTIMIZER_NAMES[t.optimizer]} lr {t.lr:g}" if t else f"uploaded {self.file}".strip()
        return f"#{self.id} {ARCH_SHORT[self.model_cfg.arch]} · {how} · {self.dataset}"

    # --- training ----------------------------------------------------------------------------------------------

    def burst(self, seconds: float, wait_s: float | None = None) -> bool:
        """Train for about `seconds` if the learner wants it, no other thread is training this run, and a training
        slot of the server is free within `wait_s` (default 2.5 x `seconds`: a turn of another run and its drawing).

        Returns whether this call trained; when it did not get a slot, `ahead` says how many runs were before it in
        line. A finished run frees what only training needed.
        """
        if not self.wants_training or self.done:
            return False
        if not self._lock.acquire(blocking=False):
            return False  # another script run of this session is in the middle of a burst: let it finish
        try:
            if not self.wants_training or self.done:
                return False
            wait_s = 2.5 * seconds if wait_s is None else wait_s
            with self.slots.turn(self, wait_s, keep_waiting=lambda: self.wants_training and not self.done) as turn:
                self.ahead = None if turn.granted else turn.ahead
                if not turn.granted:
                    return False
                self.trainer.run(max_seconds=seconds, keep_going=lambda: self.wants_training)
            self._probs = None  # the model changed
            if self.trainer.done:
                self._finish()
            return True
        finally:
            self._lock.release()

    def pause(self) -> None:
        """Stop training at the next step boundary (and wait for it, so what is shown next is where it paused)."""
        self.wants_training = False
        with self._lock:
            self.slots.leave(self)
            self.ahead = None

    def resume(self) -> None:
        if not self.done:
            self.wants_training = True

    def stop(self, reason: str = "Stopped by the user.") -> None:
        """End the run at the next step boundary; the finished steps and epochs are kept."""
        self.wants_training = False
        if self.trainer is not None and not self.trainer.done:
            self.trainer.stop(reason)  # a flag the training loop checks before every step
            with self._lock:  # wait for a burst in flight to reach its step boundary
                self._finish()

    def _finish(self) -> None:
        """Called with the lock held, once the trainer is done."""
        self.wants_training = False
        self.slots.leave(self)
        self.ahead = None
        self.trainer.release()
        last = next((e.test_acc for e in reversed(self.trainer.history.epochs) if e.test_acc is not None), None)
        if last is not None:
            self.test_acc = last

    # --- results -----------------------------------------------------------------------------------------------

    def predictions(self) -> torch.Tensor:
        """Test-set class probabilities (N, classes), computed once per model state (never while it trains)."""
        with self._lock:
            if self._probs is None:
                self.figures.clear()
                t = self.train_cfg
                self._probs = predict(self.model, self.data.x_test, self.data, tta=bool(t and t.tta),
                                      precision=t.precision if t else "fp32", channels_last=bool(t and t.channels_last))
            return self._probs


@dataclass(eq=False)
class RunHistory:
    """All runs of one learner, oldest first, and which one the live panel shows."""

    runs: list[Run] = field(default_factory=list)
    next_id: int = 1
    active_id: int | None = None
    token: str = field(default_factory=lambda: secrets.token_urlsafe(16))  # finds these runs after a reload
    seen: float = field(default_factory=time.monotonic)
    holders: int = 0  # sessions (browser tabs) that show these runs now
    closed_at: float | None = None  # when the last of them closed (None while one is open)
    dropped: bool = False  # the last start/upload dropped the oldest run (at most MAX_RUNS are kept)

    @property
    def active(self) -> Run | None:
        return self.get(self.active_id)

    def get(self, run_id) -> Run | None:
        return next((r for r in self.runs if r.id == run_id), None)

    def start(self, dataset: str, data: ImageData, model_cfg: ModelConfig, train_cfg: TrainConfig,
              device: str = "cpu") -> Run:
        """A new run that trains (on `device`) from the next burst on; a run still in progress is stopped and kept."""
        previous = self.active
        if previous is not None and not previous.done:
            previous.stop("Stopped: a new run was started.")
        model = build_model(model_cfg, seed=train_cfg.seed)
        trainer = Trainer(model, data, train_cfg, device=device)
        run = Run(self._take_id(), dataset, data, model_cfg, trainer.model, train_cfg, trainer, wants_training=True)
        self._add(run)
        self.active_id = run.id
        return run

    def add_uploaded(self, dataset: str, data: ImageData, model_cfg: ModelConfig, model: nn.Module, file: str,
                     test_acc: float) -> Run:
        run = Run(self._take_id(), dataset, data, model_cfg, model, file=file, test_acc=test_acc)
        self._add(run)
        return run

    def clear(self) -> None:
        for run in self.runs:
            run.stop()
        self.runs.clear()
        self.active_id = None

    def _take_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    def _add(self, run: Run) -> None:
        self.runs.append(run)
        self.dropped = len(self.runs) > MAX_RUNS
        while len(self.runs) > MAX_RUNS:
            self.runs.pop(0).stop()


class RunStore:
    """The run histories of sessions, by token: while a session holds one, and for at most `grace_s` after the last
    holder closed (a reload finds them), and never longer than `ttl_s` after a history was last seen."""

    def __init__(self, ttl_s: float = TTL_S, max_sessions: int = MAX_STORED, grace_s: float = GRACE_S):
        self.ttl_s, self.max_sessions, self.grace_s = ttl_s, max_sessions, grace_s
        self._histories: OrderedDict[str, RunHistory] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._histories)

    def keep(self, history: RunHistory) -> None:
        """Store (or refresh) a history: it is found by its token until ttl_s after its last visit."""
        with self._lock:
            history.seen = time.monotonic()
            self._histories[history.token] = history
            self._histories.move_to_end(history.token)
            self._expire()

    def find(self, token: str) -> RunHistory | None:
        """The history stored under this token (None when unknown or expired); finding it counts as a visit."""
        if not isinstance(token, str) or not 16 <= len(token) <= 64:
            return None
        with self._lock:
            self._expire()
            history = self._histories.get(token)
            if history is not None:
                history.seen = time.monotonic()
                self._histories.move_to_end(token)
            return history

    def hold(self, history: RunHistory) -> None:
        """A session shows this history (its own, or found again after a reload)."""
        with self._lock:
            history.holders += 1
            history.closed_at = None

    def let_go(self, history: RunHistory) -> None:
        """A session that showed this history closed; when it was the last, the runs go after grace_s."""
        with self._lock:
            history.holders = max(0, history.holders - 1)
            if history.holders:
                return
            history.closed_at = time.monotonic()
        timer = threading.Timer(self.grace_s + 0.1, self.expire)  # nothing else may visit the store by then
        timer.daemon = True
        timer.start()

    def expire(self) -> None:
        with self._lock:
            self._expire()

    def _expire(self) -> None:
        """Forget histories seen too long ago, and those no session held for grace_s; release their runs."""
        now = time.monotonic()
        old = [t for t, h in self._histories.items() if now - h.seen > self.ttl_s
               or (h.closed_at is not None and now - h.closed_at > self.grace_s)]
        gone = [self._histories.pop(token) for token in old]
        while len(self._histories) > self.max_sessions:
            gone.append(self._histories.popitem(last=False)[1])
        for history in gone:
            if not history.holders:  # (a history dropped for room while a tab shows it stays with that tab)
                history.clear()
        if gone:
            memory.tidy()

