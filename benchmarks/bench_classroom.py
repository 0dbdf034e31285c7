"""A classroom on one server: many learners at once, measured on the server a class would share.

The app runs as `make run` starts it (a free port, headless). The learners are websocket clients that speak
Streamlit's own protocol (the BackMsg / ForwardMsg protobufs a browser sends and receives), so the measurement is
of the server, not of chromium drawing 20 tabs on the same 2 cores:
- `--learners` (17) walk the lessons outside the Training section in turn (each starts at another lesson): open a
  lesson, then move its first slider a step at a time (`--moves` times, 0.5-1.5 s apart, as a learner does),
  then the next lesson. A few open a lesson's heaviest link instead (the worst a shared link can ask for).
- `--trainers` (3) open the Training studio with a short MNIST run (`TRAIN_LINK`), press Start and keep the
  page's live panel running (its fragment reruns, as a browser's timer sends them) until the run has finished,
  then start the next one, for as long as the learners walk.

Reported: p50/p95 of the learners' interactions (from the message that asks for a rerun to the run's end, the
picture's data all sent), and of lesson openings; every training's samples/s and test accuracy; errors (an
exception element, a run that did not end, a dropped connection); the server's RSS every second, while the class
works and for `--after` seconds once every session closed, against a warm server (before the class, one learner
opens every lesson and trains once: the imports, datasets and shared caches every class needs).

Targets: p95 <= 1.5 s for lesson interactions while the trainings run; every training finishes with its normal
accuracy; zero errors; server RSS <= 1.5 GB; RSS falls back within 60 s of the sessions closing.

    .venv/bin/python benchmarks/bench_classroom.py [--learners 17] [--trainers 3] [--seconds 120] [--after 90]
"""

import argparse
import asyncio
import os
import random
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser_support import free_port, wait_healthy  # noqa: E402

TRAIN_LINK = {"ts_subset": "10000", "ts_epochs": "2", "ts_batch": "64"}  # MLP, ~280 steps, ~93% on the test set
NORMAL_ACCURACY = 0.90
RUN_TIMEOUT_S = 60  # a lesson run that does not end within this counts as an error
DROPPED_S = 15  # a fragment run request with no answer at all this long was dropped by the server
REPLICA_COOKIE = "PYLAB_REPLICA"  # the cookie scripts/cluster.sh's HAProxy sets (which replica a tab stays on)
TRAIN_TIMEOUT_S = 300  # the studio's runs (a burst that ends a training evaluates it and reruns the whole page)


def pct(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


class Dropped(Exception):
    """The server did not start a requested fragment run."""


@dataclass
class Tally:
    moves: list = field(default_factory=list)  # seconds from a slider move to the run's end
    opens: list = field(default_factory=list)  # seconds from opening a lesson to its run's end
    trainings: list = field(default_factory=list)  # (samples/s, test accuracy, seconds)
    errors: list = field(default_factory=list)
    longest_burst: float = 0.0  # the longest fragment run of a trainer (s)
    dropped: int = 0  # fragment run requests the server dropped (the trainer then reran the page, as a reload)
    replicas: dict = field(default_factory=dict)  # client name -> the replica a load balancer's cookie named


def page_cookies(base: str) -> dict[str, str]:
    """The cookies the app's page sets (a load balancer's stickiness cookie; none from Streamlit itself)."""
    from http.cookies import SimpleCookie
    from urllib.request import urlopen

    with urlopen(base + "/", timeout=60) as response:
        jar = SimpleCookie()
        for header in response.headers.get_all("Set-Cookie") or []:
            jar.load(header)
        return {k: morsel.value for k, morsel in jar.items()}


class Client:
    """One browser tab as the server sees it: a websocket that sends BackMsgs and reads ForwardMsgs."""

    def __init__(self, base: str, tally: Tally, name: str):
        self.base = base
        self.url = base.replace("http", "ws") + "/_stcore/stream"
        self.tally, self.name = tally, name
        self.page, self.query = "", ""
        self.sliders: dict[str, object] = {}  # widget id -> the Slider proto of the last run
        self.buttons: dict[str, object] = {}
        self.progress: list[str] = []
        self.metrics: dict[str, str] = {}
        self.auto_rerun: tuple[float, str] | None = None  # (interval, fragment id) while a fragment asks for it

    async def __aenter__(self):
        from websockets.asyncio.client import connect

        # The page first, as a browser loads it: behind a load balancer its answer sets the cookie that keeps this
        # tab on one replica (scripts/cluster.sh), and the websocket must carry it.
        cookies = await asyncio.to_thread(page_cookies, self.base)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else None
        if REPLICA_COOKIE in cookies:
            self.tally.replicas[self.name] = cookies[REPLICA_COOKIE]
        self.ws = await connect(self.url, subprotocols=["streamlit"], max_size=2**27, open_timeout=60,
                                additional_headers=headers)
        return self

    async def __aexit__(self, *exc):
        await self.ws.close()

    async def rerun(self, widgets=(), *, fragment_id: str = "", timeout_s: float = RUN_TIMEOUT_S) -> float:
        """Ask for a run (with these WidgetState protos) and wait for its end; seconds it took. A fragment run
        the server does not start (it drops a request for a fragment it no longer has, silently: a browser's
        timer just sends the next one) raises Dropped after DROPPED_S without a message."""
        from streamlit.proto.BackMsg_pb2 import BackMsg

        msg = BackMsg()
        state = msg.rerun_script
        state.query_string, state.page_name = self.query, self.page
        state.widget_states.widgets.extend(widgets)
        if fragment_id:
            state.fragment_id, state.is_auto_rerun = fragment_id, True
        else:
            self.sliders, self.buttons, self.progress = {}, {}, []
        start = time.perf_counter()
        await self.ws.send(msg.SerializeToString())
        if fragment_id:  # the run starts with a new_session message (a status message may still come first)
            first = await asyncio.wait_for(self._run_start(), DROPPED_S + 5)
            await asyncio.wait_for(self._until_finished(first), timeout_s)
        else:
            await asyncio.wait_for(self._until_finished(), timeout_s)
        return time.perf_counter() - start

    async def _run_start(self) -> bytes:
        """The first message of a requested run; Dropped when only other messages come for DROPPED_S."""
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        deadline = time.monotonic() + DROPPED_S
        while True:
            try:
                raw = await asyncio.wait_for(self.ws.recv(), max(0.01, deadline - time.monotonic()))
            except TimeoutError:
                raise Dropped from None
            msg = ForwardMsg()
            msg.ParseFromString(raw)
            if msg.WhichOneof("type") != "session_status_changed":
                return raw

    async def _until_finished(self, first: bytes | None = None) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        while True:
            msg = ForwardMsg()
            msg.ParseFromString(first if first is not None else await self.ws.recv())
            first = None
            kind = msg.WhichOneof("type")
            if kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                self._element(msg.delta.new_element)
            elif kind == "auto_rerun":
                self.auto_rerun = (msg.auto_rerun.interval, msg.auto_rerun.fragment_id)
            elif kind == "stop_auto_rerun":
                self.auto_rerun = None
            elif kind == "script_finished":
                status = ForwardMsg.ScriptFinishedStatus.Name(msg.script_finished)
                if status == "FINISHED_EARLY_FOR_RERUN":
                    continue  # a newer run replaces it
                if status == "FINISHED_WITH_COMPILE_ERROR":
                    self.tally.errors.append(f"{self.name} {self.page}: {status}")
                return

    def _element(self, element) -> None:
        kind = element.WhichOneof("type")
        if kind == "slider" and not element.slider.disabled:
            self.sliders[element.slider.id] = element.slider
        elif kind == "button":
            self.buttons[element.button.id] = element.button
        elif kind == "progress":
            self.progress.append(element.progress.text)
        elif kind == "metric":
            self.metrics[element.metric.label] = element.metric.body
        elif kind == "exception":
            self.tally.errors.append(f"{self.name} {self.page}: {element.exception.type}: {element.exception.message}")

    async def open(self, page: str, query: dict | None = None) -> float:
        self.page, self.query = page, urlencode(query or {})
        return await self.rerun()


def slider_state(slider, value: float):
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    state = WidgetState(id=slider.id)
    state.double_array_value.data.append(value)
    return state


async def learner(base: str, tally: Tally, lessons: list, heavy: dict, index: int, moves: int, until: float):
    rng = random.Random(index)
    async with Client(base, tally, f"learner {index}") as client:
        step = index
        while time.monotonic() < until:
            lesson = lessons[step % len(lessons)]
            step += 1
            query = heavy.get(lesson.url) if index % 6 == 5 else None  # every sixth learner opens heavy links
            try:
                tally.opens.append(await client.open(lesson.url, query))
                for _ in range(moves):
                    if not client.sliders or time.monotonic() > until:
                        break
                    slider = next(iter(client.sliders.values()))
                    now = (list(slider.value) or list(slider.default) or [slider.min])[0]
                    target = now + slider.step if now + slider.step <= slider.max else slider.min
                    await asyncio.sleep(rng.uniform(0.5, 1.5))
                    tally.moves.append(await client.rerun([slider_state(slider, target)]))
            except TimeoutError:
                tally.errors.append(f"{client.name} {lesson.url}: a run did not end within {RUN_TIMEOUT_S} s")
            except Exception as exc:  # noqa: BLE001 (a dropped connection is counted, not raised)
                tally.errors.append(f"{client.name} {lesson.url}: {type(exc).__name__}: {exc}")
                return


def state_of(progress: list[str]) -> str:
    """The run's state in its progress bar's text ("#1 MLP · SGD lr 0.05 · MNIST · training · epoch 1/2 ...")."""
    parts = progress[-1].split(" · ") if progress else []
    return parts[3] if len(parts) > 4 else ""


def step_of(progress: list[str]) -> tuple[str, int]:
    text = progress[-1] if progress else ""
    found = re.search(r"step ([\d,]+)/", text)
    return text, int(found.group(1).replace(",", "")) if found else 0


async def trainer(base: str, tally: Tally, index: int, until: float):
    async with Client(base, tally, f"trainer {index}") as client:
        try:
            await client.open("training_studio", TRAIN_LINK)
            while time.monotonic() < until:
                await train_once(client, tally)
        except TimeoutError:
            tally.errors.append(f"{client.name}: a run did not end within {TRAIN_TIMEOUT_S} s "
                                f"(progress: {client.progress[-1:]})")
        except Exception as exc:  # noqa: BLE001 (a dropped connection is counted, not raised)
            tally.errors.append(f"{client.name}: {type(exc).__name__}: {exc}")


async def train_once(client, tally: Tally) -> None:
    """Press Start, keep the live panel running until the run has ended, then read its accuracy."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    start_id = next((i for i in client.buttons if i.endswith("ts_start")), None)
    if start_id is None:
        raise RuntimeError("no Start button")
    begun = time.perf_counter()
    await client.rerun([WidgetState(id=start_id, trigger_value=True)], timeout_s=TRAIN_TIMEOUT_S)
    # The live panel trains a burst per fragment run while the run trains (a browser's timer stops with the
    # page's full run at the run's end; this client stops when the progress bar says the run ended).
    while client.auto_rerun is not None and state_of(client.progress) in ("", "training", "waiting"):
        interval, fragment = client.auto_rerun
        await asyncio.sleep(interval)
        try:
            took = await client.rerun(fragment_id=fragment, timeout_s=TRAIN_TIMEOUT_S)
            tally.longest_burst = max(tally.longest_burst, took)
        except Dropped:
            tally.dropped += 1
            await client.rerun(timeout_s=TRAIN_TIMEOUT_S)  # the whole page, as a reload would: the panel goes on
    text = client.progress[-1] if client.progress else ""
    await client.rerun(timeout_s=TRAIN_TIMEOUT_S)  # the page's full run after the run ended: its results
    seconds = time.perf_counter() - begun
    accuracy = float(client.metrics.get("Test accuracy", "nan%").rstrip("%")) / 100
    samples = step_of(client.progress)[1] * int(TRAIN_LINK["ts_batch"])
    tally.trainings.append((samples / seconds, accuracy, seconds))
    if "finished" not in text:
        tally.errors.append(f"{client.name}: the run did not finish ({text!r})")


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        proc = psutil.Process(pid)
        total += proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(recursive=True))
    return total / 2**20


def cpu_s(pids: list[int]) -> float:
    return sum(sum(psutil.Process(pid).cpu_times()[:2]) for pid in pids)


def app_servers() -> list[int]:
    """The app's servers running on this machine (the replicas behind a load balancer, with `--url`)."""
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmd = proc.info["cmdline"] or []
        if "streamlit" in " ".join(cmd) and "run" in cmd and any(c.endswith("app.py") for c in cmd):
            found.append(proc.info["pid"])
    return found


async def sample_rss(pids: list[int], samples: list, stop: asyncio.Event, t0: float):
    while not stop.is_set():
        samples.append((time.monotonic() - t0, rss_mb(pids)))
        await asyncio.sleep(1.0)


def heavy_links() -> dict[str, dict]:
    from benchmarks.bench_worst_links import heaviest
    from tests.test_robustness import declared_params
    from ui import nav

    out = {}
    for lesson in nav.lessons():
        try:
            params = declared_params(lesson.path)
        except Exception:  # noqa: BLE001 (a lesson whose params cannot be read statically: no heavy link)
            continue
        out[lesson.url] = heaviest(params)
    return out


async def warm_up(base: str, lessons: list) -> None:
    """One learner before the class: every lesson once and one training (imports, datasets, caches)."""
    tally = Tally()
    async with Client(base, tally, "warm-up") as client:
        for lesson in lessons:
            await client.open(lesson.url)
        await client.open("training_studio", TRAIN_LINK)
        await train_once(client, tally)


async def classroom(base: str, pids: list[int], args) -> tuple[Tally, list, float, float]:
    from ui import nav

    training = set(nav.SECTIONS["Training"])
    lessons = [lesson for lesson in nav.lessons() if lesson not in training]
    heavy = heavy_links() if args.heavy else {}
    await warm_up(base, lessons)
    await asyncio.sleep(5)
    warm = rss_mb(pids)
    tally, samples, stop = Tally(), [], asyncio.Event()
    t0 = time.monotonic()
    sampler = asyncio.create_task(sample_rss(pids, samples, stop, t0))
    until = time.monotonic() + args.seconds
    tasks = [learner(base, tally, lessons, heavy, i, args.moves, until) for i in range(args.learners)]
    tasks += [trainer(base, tally, i, until) for i in range(args.trainers)]
    await asyncio.gather(*tasks)
    closed = time.monotonic() - t0
    await asyncio.sleep(args.after)
    stop.set()
    await sampler
    return tally, samples, closed, warm


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", type=int, default=17)
    parser.add_argument("--trainers", type=int, default=3)
    parser.add_argument("--moves", type=int, default=4, help="slider moves per lesson visit")
    parser.add_argument("--seconds", type=float, default=120, help="how long the learners walk")
    parser.add_argument("--after", type=float, default=90, help="seconds of RSS samples after every session closed")
    parser.add_argument("--url", help="measure a running app (e.g. scripts/cluster.sh's load balancer) instead of "
                        "starting one")
    parser.add_argument("--no-heavy", dest="heavy", action="store_false", help="no learner opens heavy links")
    args = parser.parse_args()

    server = None
    if args.url:  # a running app: one server, or the replicas of scripts/cluster.sh behind its load balancer
        base = args.url.rstrip("/")
        pids = app_servers()
    else:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        python = ROOT / ".venv" / "bin" / "python"
        server = subprocess.Popen([str(python if python.exists() else sys.executable), "-m", "streamlit", "run",
                                   "app.py", "--server.port", str(port), "--server.headless", "true"],
                                  cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        pids = [server.pid]
    load0 = os.getloadavg()
    try:
        if server is not None:
            wait_healthy(base, server, timeout_s=120)
        idle = rss_mb(pids)
        cpu0 = cpu_s(pids)
        tally, samples, closed, warm = asyncio.run(classroom(base, pids, args))
        cpu1 = cpu_s(pids)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
    load1 = os.getloadavg()

    during = [mb for t, mb in samples if t <= closed]
    after = [(t - closed, mb) for t, mb in samples if t > closed]
    peak = max(during)
    policy = {k: v for k, v in os.environ.items() if k.startswith(("PYLAB_TRAINING_", "PYLAB_SHARED"))}
    print(f"{args.learners} learners + {args.trainers} trainers for {args.seconds:.0f} s at {base} {policy} "
          f"({os.cpu_count()} cores, load average {load0[0]:.2f} before, {load1[0]:.2f} after)")
    print(f"lesson interactions: {len(tally.moves)} moves, p50 {1000 * pct(tally.moves, 0.5):.0f} ms, "
          f"p95 {1000 * pct(tally.moves, 0.95):.0f} ms, max {1000 * max(tally.moves, default=0):.0f} ms "
          f"(target p95 <= 1500 ms: {'yes' if pct(tally.moves, 0.95) <= 1.5 else 'no'})")
    print(f"lesson openings: {len(tally.opens)}, p50 {1000 * pct(tally.opens, 0.5):.0f} ms, "
          f"p95 {1000 * pct(tally.opens, 0.95):.0f} ms")
    for rate, accuracy, seconds in tally.trainings:
        print(f"training: {rate:6.0f} samples/s, test accuracy {accuracy:.1%}, {seconds:.1f} s"
              f"{'' if accuracy >= NORMAL_ACCURACY else '  (below its normal accuracy)'}")
    print(f"errors: {len(tally.errors)}")
    for error in tally.errors[:20]:
        print("   ", error)
    back = next((t for t, mb in after if mb <= warm + 0.5 * (peak - warm)), None)
    print(f"server RSS: started {idle:.0f} MB, after one learner's warm-up walk {warm:.0f} MB, peak {peak:.0f} MB "
          f"(target 1536 MB), at the sessions' close {during[-1]:.0f} MB, {args.after:.0f} s later "
          f"{after[-1][1] if after else float('nan'):.0f} MB; back to within half of the rise over the warm "
          f"server: {f'after {back:.0f} s' if back is not None else 'not within the samples'}")
    print(f"the longest live-panel run of a trainer: {tally.longest_burst:.1f} s; fragment run requests the server "
          f"dropped: {tally.dropped}")
    print(f"server CPU: {cpu1 - cpu0:.0f} s over the run ({len(pids)} server process{'es' if len(pids) > 1 else ''})")
    if tally.replicas:
        counts = {r: list(tally.replicas.values()).count(r) for r in sorted(set(tally.replicas.values()))}
        print("sessions per replica (the load balancer's cookie): " + ", ".join(f"{r}: {n}" for r, n in counts.items()))
    print("RSS over time (s, MB): " + ", ".join(f"{t:.0f}:{mb:.0f}" for t, mb in samples[::5]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
