"""The Training studio in a real browser while it trains: a learner who moves sliders and presses every button
(Streamlit's own toolbar Stop included) never sees an error, the step count only grows, and the finished
weights are exactly those of an undisturbed run; a reload (a new session) finds the runs again."""

import json
import re
import time
from urllib.parse import parse_qs, urlparse

import pytest
import torch

from tests.browser_support import (
    MAIN,
    SERVER_LOG,
    exceptions,
    log_errors,
    log_size,
    open_lesson,
    settle,
    shows,
    wait_idle,
)

# MLP on 10,000 MNIST images, batches of 16, 20 epochs: ~11,000 steps, tens of one-second bursts.
LINK = "?ts_subset=10000&ts_batch=16&ts_epochs=20"
SHORT = "?ts_subset=10000&ts_batch=16&ts_epochs=4"  # ~2,250 steps: a few bursts
NUDGES = [("ts_val", True), ("ts_ls", True), ("ts_val", False), ("ts_ls", False)]
ERRORS = f'{MAIN} [data-testid="stException"], {MAIN} [data-testid="stAlertContentError"]'


def progress(page) -> tuple[str, int]:
    """(state, step) of the active run as its progress bar says ("... · training · epoch 2/6 · step 812/3,372")."""
    text = page.locator(f'{MAIN} [data-testid="stProgress"]').first.inner_text()
    state = text.split(" · ")[3] if text.count(" · ") >= 4 else ""
    step = int(re.search(r"step ([\d,]+)/", text).group(1).replace(",", ""))
    return state, step


def button(page, key: str):
    return page.locator(f".st-key-{key}").get_by_role("button")


def nudge(page, key: str, right: bool) -> None:
    """Move a slider one step with the keyboard, as a learner dragging it would (a full rerun of the page)."""
    thumb = page.locator(f".st-key-{key}").get_by_role("slider")
    thumb.focus()
    thumb.press("ArrowRight" if right else "ArrowLeft")


def toolbar_stop(page) -> bool:
    """Streamlit's own Stop in the toolbar (shown while a script runs); whether it was there to click."""
    stop = page.locator('[data-testid="stStatusWidget"] button').filter(has_text="Stop")
    try:
        stop.click(timeout=400)
        return True
    except Exception:  # playwright's TimeoutError: no script was running at that moment
        return False


def watch(page, steps: list[int], errors: list[str]) -> str:
    """Record the step and any error on the page; returns the run's state."""
    errors += page.locator(ERRORS).all_inner_texts()
    try:
        state, step = progress(page)
    except Exception:  # the panel is redrawing
        return ""
    steps.append(step)
    return state


def wait_state(page, states: tuple[str, ...], steps, errors, timeout_s: float = 240) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = watch(page, steps, errors)
        if state in states:
            return state
        page.wait_for_timeout(300)
    raise AssertionError(f"the run never reached {states}; steps seen: {steps[-10:]}")


def pause_unless_finished(page, steps: list[int], errors: list[str], timeout_s: float = 60) -> bool:
    """Press Pause, unless the run finishes first (a fast machine may end it between two clicks of the test):
    whether it pressed. Pause drawn disabled while the page says the run trains is a stale page, and fails."""
    pause = button(page, "ts_pause")
    deadline = time.monotonic() + timeout_s
    stale_since = None
    while time.monotonic() < deadline:
        state = watch(page, steps, errors)
        if state == "finished":
            return False
        if state == "paused":  # a click that paused the run, though playwright reported it late
            return True
        if pause.is_enabled():
            try:
                pause.click(timeout=2000)
                return True
            except Exception:  # playwright's TimeoutError: it was disabled again by a redraw (the run just ended)
                continue
        if state == "training":
            stale_since = stale_since or time.monotonic()
            assert time.monotonic() - stale_since < 8, f"Pause stays disabled while the run trains: {steps[-10:]}"
        page.wait_for_timeout(200)
    raise AssertionError(f"Pause never became clickable and the run never finished; steps seen: {steps[-10:]}")


def start_a_run(page, base_url: str, link: str = LINK) -> tuple[int, list[int], list[str]]:
    """Open the studio with a link and press Start: (where the server log ends, steps seen, errors seen)."""
    since = log_size(base_url)
    open_lesson(page, base_url, "training_studio", link)
    settle(page)
    steps, errors = [], []
    button(page, "ts_start").click()
    wait_state(page, ("training",), steps, errors)
    return since, steps, errors


@pytest.mark.browser
@pytest.mark.slow
def test_touching_everything_while_it_trains(streamlit_server, page, tmp_path):
    from core.checkpoints import read_config_json
    from core.datasets import load_shared
    from core.models import build_model
    from core.training import TrainConfig, Trainer

    since, steps, errors = start_a_run(page, streamlit_server)

    # Run 1: sliders moved, paused and resumed, Streamlit's toolbar Stop, then our Stop.
    stopped_by_toolbar = 0
    for key, right in NUDGES:  # settings for the next run only; they end where they began
        nudge(page, key, right)
        page.wait_for_timeout(700)
        watch(page, steps, errors)
        stopped_by_toolbar += toolbar_stop(page)
        page.wait_for_timeout(700)
        watch(page, steps, errors)
    button(page, "ts_pause").click()
    wait_state(page, ("paused",), steps, errors)
    paused = steps[-1]
    page.wait_for_timeout(1500)
    assert wait_state(page, ("paused",), steps, errors) == "paused" and steps[-1] == paused  # it really waits
    button(page, "ts_resume").click()
    wait_state(page, ("training",), steps, errors)
    page.wait_for_timeout(1500)
    button(page, "ts_stop").click()
    wait_state(page, ("stopped",), steps, errors)
    run1_steps = steps[-1]

    # Run 2, shorter (8 epochs, set with the keyboard): started, paused and nudged and resumed twice, then left to
    # finish (a machine that trains faster than it clicks may finish it before a pause: run 1 covers those).
    epochs = page.locator(".st-key-ts_epochs").get_by_role("slider")
    epochs.focus()
    epochs.press("Home")  # 1 epoch ...
    for _ in range(7):
        epochs.press("ArrowRight")  # ... then 8
    assert shows(lambda: page.locator('.st-key-ts_epochs [data-testid="stSliderThumbValue"]').inner_text(), "8") == "8"
    page.wait_for_timeout(1000)
    wait_idle(page)
    button(page, "ts_start").click()
    page.locator(f'{MAIN} [data-testid="stProgress"]').filter(has_text="#2 ").wait_for()
    steps.clear()
    wait_state(page, ("training",), steps, errors)
    pauses = 0
    for key, right in (NUDGES[0], NUDGES[2]):  # ts_val there and back
        # Pause first (a fast machine trains this run in a few seconds), then the nudge's full rerun while paused
        if not pause_unless_finished(page, steps, errors):
            break
        if wait_state(page, ("paused", "finished"), steps, errors) == "finished":
            break
        pauses += 1
        nudge(page, key, right)
        page.wait_for_timeout(600)
        watch(page, steps, errors)
        stopped_by_toolbar += toolbar_stop(page)
        button(page, "ts_resume").click()
        wait_state(page, ("training", "finished"), steps, errors)
        page.wait_for_timeout(900)
        watch(page, steps, errors)
    if not pauses:  # run 1 always pauses; a machine that trains run 2 in a few seconds may end it first
        print(f"run 2 finished before the page let it be paused (Pause is enabled once the Start click's run has "
              f"drawn the page): steps {steps[-10:]}")
    wait_state(page, ("finished",), steps, errors, timeout_s=400)
    settle(page)

    assert errors == [] and exceptions(page) == []
    assert steps == sorted(steps), f"the step count went back: {steps}"
    assert run1_steps > 0 and steps[-1] > 0
    assert log_errors(streamlit_server, since) == []

    # The finished run's weights equal those of the same run trained undisturbed, from its own config file.
    chosen = page.locator('.st-key-ts_view_run [role="combobox"]')
    assert shows(lambda: chosen.input_value().startswith("#2 "), True), chosen.input_value()  # the run just ended
    with page.expect_download() as weights:
        page.locator(".st-key-ts_dl_weights").get_by_role("button").click()
    with page.expect_download() as config:
        page.locator(".st-key-ts_dl_config").get_by_role("button").click()
    got = torch.load(weights.value.path(), weights_only=True)
    model_cfg, doc = read_config_json(config.value.path().read_bytes())
    train_cfg = TrainConfig.from_dict(doc["train"])
    with open(SERVER_LOG[streamlit_server], errors="replace") as f:  # a Start whose page run held other settings
        f.seek(since)
        differed = [line.strip() for line in f if "settings differ" in line]
    assert (train_cfg.epochs, train_cfg.train_subset, train_cfg.batch_size) == (8, 10000, 16), differed
    print("Start clicks whose page run held other settings:", differed)
    assert (train_cfg.val_fraction, train_cfg.label_smoothing) == (0.1, 0.0)  # the nudges ended where they began
    reference = build_model(model_cfg, seed=train_cfg.seed)
    Trainer(reference, load_shared("mnist"), train_cfg).run()
    expected = reference.state_dict()
    assert got.keys() == expected.keys()
    for name, tensor in expected.items():
        assert torch.equal(got[name], tensor), name
    assert json.loads(config.value.path().read_text())["dataset"] == "MNIST"


def _query(page) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()}


@pytest.mark.browser
@pytest.mark.slow
def test_a_reload_finds_the_runs_again(streamlit_server, page):
    since, steps, errors = start_a_run(page, streamlit_server, SHORT)
    page.wait_for_timeout(1500)
    token = shows(lambda: _query(page).get("session", ""), "x", timeout_s=5)
    assert len(token) >= 16, page.url  # a private token in this tab's URL ...
    share = page.locator(MAIN).get_by_role("button", name="Share link")
    share.click()
    link = page.locator('[data-testid="stPopover"] code, [data-testid="stPopoverBody"] code').first.inner_text()
    assert "session=" not in link and "ts_epochs=4" in link  # ... that a share link never carries
    page.keyboard.press("Escape")

    before = steps[-1]
    page.reload()  # mid-run: a new session (it keeps training, so the page is never idle for long)
    page.wait_for_selector("h1")
    state = wait_state(page, ("training", "paused", "finished"), steps, errors)
    assert steps[-1] >= before, "the reloaded tab shows fewer steps than were done"
    assert shows(lambda: page.get_by_role("heading", name="Runs").count(), 1) == 1, "the runs table is gone"
    if state != "finished":
        wait_state(page, ("finished",), steps, errors, timeout_s=400)
    settle(page)
    page.reload()  # after the run: its results are there
    page.wait_for_selector("h1")
    settle(page)
    assert shows(lambda: page.get_by_text("Inside a trained model").count(), 1) == 1
    assert "finished" in page.locator(f'{MAIN} [data-testid="stProgress"]').first.inner_text()
    assert errors == [] and exceptions(page) == []
    assert log_errors(streamlit_server, since) == []
