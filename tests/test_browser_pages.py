"""Every lesson in a real browser: it loads without an error, its main widget changes what is drawn, and a
screenshot is kept; a short MNIST run whose loss curve grows live; shared links that open lessons as they were.

Screenshots go to test-output/screenshots/<lesson url>.png (scripts/screenshots.py copies some into docs/).
"""

import json
import time
from urllib.parse import parse_qs, urlencode, urlparse

import pytest

from tests.browser_support import (
    FINGERPRINT_JS,
    MAIN,
    exceptions,
    fingerprint,
    log_errors,
    log_size,
    metric_value,
    open_lesson,
    screenshot,
    settle,
    shows,
)
from ui import nav

HIDDEN_CHIPS_JS = """() => [...document.querySelectorAll('[data-testid="stMultiSelect"]')].flatMap(widget => {
    widget.scrollIntoView({block: 'center', behavior: 'instant'});
    return [...widget.querySelectorAll('[data-tag]')].filter(chip => {
        const r = chip.getBoundingClientRect(), y = r.top + r.height / 2;
        const box = chip.closest('[data-testid="stMultiSelectTagsContainer"]').getBoundingClientRect();
        const on = x => chip.contains(document.elementFromPoint(x, y));  // nothing covers it there
        return !(r.width > 0 && r.left >= box.left - 1 && r.right <= box.right + 1 && on(r.left + 3) && on(r.right - 3));
    }).map(chip => chip.innerText);
})"""


CUT_METRICS_JS = """() => [...document.querySelectorAll('[data-testid^="stMetric"]')]
    .filter(m => [...m.querySelectorAll('*')].some(e => e.scrollWidth > e.clientWidth + 1
                                                     && getComputedStyle(e).textOverflow === 'ellipsis'))
    .map(m => m.innerText)"""


def assert_clean(page, name: str) -> None:
    assert exceptions(page) == [], name
    assert page.get_by_text("Page not found").count() == 0, f"{name}: Streamlit did not know the URL {page.url}"
    assert "Traceback" not in page.locator(MAIN).inner_text(), name  # (some lessons show an st.error on purpose)


# ------------------------------------------------------------------------------------------ widget actions


def move_first_slider(page) -> str:
    """The first enabled slider of the lesson, moved three steps with the keyboard (back, when at its maximum)."""
    thumb = page.locator(f'{MAIN} [data-testid="stSlider"] input[type="range"]:not([disabled])').first
    before = thumb.input_value()
    thumb.focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    if thumb.input_value() == before:  # it was at the right end
        for _ in range(3):
            page.keyboard.press("ArrowLeft")
    after = thumb.input_value()
    assert after != before, "the slider did not move"
    return f"slider {before} -> {after}"


def click_option(key: str, label: str):
    """Click one option of a segmented control (or pills) with this key."""
    def act(page) -> str:
        page.locator(f".st-key-{key}").get_by_role("radio", name=label, exact=True).click()
        return f"{key} = {label}"
    return act


def step_up(key: str):
    """Press the + button of a number input with this key."""
    def act(page) -> str:
        page.locator(f'.st-key-{key} [data-testid="stNumberInputStepUp"]').click()
        return f"{key} + 1"
    return act


def choose(key: str, option: str):
    """Open the selectbox with this key and pick an option."""
    def act(page) -> str:
        page.locator(f'.st-key-{key} [role="combobox"]').click()
        page.get_by_role("option", name=option, exact=True).click()
        return f"{key} = {option}"
    return act


def type_into(key: str, text: str):
    """Type new text into a text input (or area) with this key and submit it."""
    def act(page) -> str:
        box = page.locator(f".st-key-{key}").locator("input, textarea")
        box.fill(text)
        box.press("Control+Enter" if box.evaluate("e => e.tagName") == "TEXTAREA" else "Enter")
        return f"{key} = {text!r}"
    return act


def draw_seven(page) -> str:
    """Draw a 7 on the canvas (the drawable-canvas component; Playwright's CSS reaches into its shadow root)."""
    box = page.locator('[class*="st-key-dd_canvas"] canvas').last.bounding_box()  # fabric.js's upper canvas
    x, y = box["x"], box["y"]
    page.mouse.move(x + 70, y + 60)
    page.mouse.down()
    for px, py in ((210, 60), (190, 110), (160, 170), (135, 235)):  # the bar, then the stem
        page.mouse.move(x + px, y + py, steps=12)
    page.mouse.up()
    return "drew a 7"


# Lessons whose first slider is not their main control (or that have none): what to do instead.
ACTIONS = {
    "tensor_types": click_option("ty_op", "/"),
    "puzzles": type_into("pz_a_outer", "a[:, None] * b[None, :]"),  # solved: the count goes up
    "autograd_graph": type_into("ag_vals", "0.9, 1.5, 0.1, 1.0"),  # another w: another output and gradients  # true division: uint8 / 10 gives float32
    "gather": click_option("ga_dim", "0"),  # the worked preset in Preset mode has no slider: gather along dim 0
    "creation_indexing": step_up("cr_seed"),  # Create part, randint: another seed draws other integers
    "combine_split": click_option("cs_dim", "1"),  # cat vs stack along dim 1 instead of 0
    "architectures": choose("ar_arch", "VGG-16"),
    "module_anatomy": step_up("an_hidden"),
    "inside_network": step_up("in_index"),  # another test image: another prediction and other feature maps  # its first slider (dropout) changes no count; more channels do
    "data_pipeline": step_up("dp_index"),  # the next image of the dataset: another label, another picture
    "playground": step_up("pg_seed"),  # other points and first weights: another picture (the lr waits for Play)
    "tiny_transformer": step_up("tt_sample_seed"),  # another example prompt (a changed size waits for New model)
    "draw_digit": draw_seven,  # its only slider is the pen width; drawing is what makes a prediction
}

LESSONS = [nav.HOME, *nav.lessons()]


@pytest.mark.browser
@pytest.mark.parametrize("lesson", LESSONS, ids=[lesson.url for lesson in LESSONS])
def test_lesson_loads_and_its_main_widget_changes_the_picture(streamlit_server, page, lesson):
    name = lesson.url
    since = log_size(streamlit_server)
    open_lesson(page, streamlit_server, "" if lesson is nav.HOME else lesson.url)  # home is the app's root URL
    settle(page)
    assert_clean(page, name)
    assert page.locator(f"{MAIN} h1").first.inner_text().strip() != ""

    if lesson is nav.HOME:
        # The home page has no widget: it is a tour. Every lesson has its card and the runtime metrics show.
        links = page.locator(f'{MAIN} [data-testid="stPageLink"]')
        titles = sorted(lesson.title for lesson in nav.lessons())
        shown = lambda: sorted(text.splitlines()[-1] for text in links.all_inner_texts())  # noqa: E731 (after the icon)
        assert shows(shown, titles) == titles
        import torch

        assert shows(lambda: metric_value(page, "PyTorch").inner_text(), torch.__version__) == torch.__version__
    else:
        share = page.locator(MAIN).get_by_role("button", name="Share link")
        assert shows(share.count, 1) == 1, f"{name}: app.py's share button is missing"
        before = fingerprint(page)
        done = ACTIONS.get(name, move_first_slider)(page)
        try:
            page.wait_for_function(f"(old) => ({FINGERPRINT_JS})() !== old", arg=before, timeout=60_000)
        except Exception as exc:  # playwright's TimeoutError
            raise AssertionError(f"{name}: {done} changed no chart, metric or image") from exc
        settle(page)
        assert fingerprint(page) != before, f"{name}: {done}"
        assert_clean(page, name)
        assert page.evaluate(HIDDEN_CHIPS_JS) == [], f"{name}: options chosen in a multiselect are hidden"
        assert page.evaluate(CUT_METRICS_JS) == [], f"{name}: a metric is cut short with an ellipsis"
        page.evaluate("() => window.scrollTo(0, 0)")
    screenshot(page, name)
    assert log_errors(streamlit_server, since) == [], f"{name}: the server logged an error"


# ------------------------------------------------------------------------------------------ a live training run

LOSS_END_JS = """() => {
    const plot = document.querySelector('.st-key-ts_loss_fig .js-plotly-plot');
    const train = plot && (plot.data || []).find(t => t.name === 'train');
    if (!train) return 0;
    const x = train.x._inputArray || train.x;  // a typed array keeps its values in _inputArray
    return x.length ? x[x.length - 1] : 0;     // how far (in epochs) the training-loss curve reaches
}"""


@pytest.mark.browser
def test_a_short_mnist_run_draws_its_loss_curve_live(streamlit_server, page):
    # the link sets a short run: the default MLP on 20,000 MNIST images (18,000 after the validation split),
    # 3 epochs of batches of 16: a few seconds, so the page redraws the curves several times while it trains
    open_lesson(page, streamlit_server, "training_studio", "?ts_subset=20000&ts_epochs=3&ts_batch=16")
    settle(page)
    assert shows(lambda: metric_value(page, "Training images").inner_text(), "20,000") == "20,000"
    page.locator(".st-key-ts_start").get_by_role("button", name="Start").click()  # (not its hidden twin)

    finished = page.locator(f'{MAIN} [data-testid="stAlertContentSuccess"]').filter(has_text="Finished 3 epoch")
    seen = []  # how far the live training-loss curve reaches (in epochs), sampled while it trains
    deadline = time.monotonic() + 240
    while not finished.count() and time.monotonic() < deadline:
        seen.append(page.evaluate(LOSS_END_JS))
        page.wait_for_timeout(100)
    assert finished.count(), f"the run did not finish; the curve reached: {seen[-20:]}"
    drawn = [n for n in seen if n]
    assert drawn == sorted(drawn), "the curve went back while training"
    assert len(set(drawn)) >= 2 and min(drawn) < 3, f"the curve did not grow while training: {sorted(set(drawn))}"

    # the finished run: its results below the curves (the page reruns once when the run ends)
    page.get_by_text("Inside a trained model").wait_for()
    settle(page)
    assert_clean(page, "training_studio")
    assert "finished" in page.locator(f'{MAIN} [data-testid="stProgress"]').inner_text()
    assert page.evaluate(LOSS_END_JS) >= drawn[-1]
    accuracy = metric_value(page, "Test accuracy").last.inner_text()  # "94.12%": of the 10,000 test images
    assert float(accuracy.rstrip("%")) > 85, accuracy
    counts = page.evaluate("""() => document.querySelector('.st-key-ts_cm_fig .js-plotly-plot').data[0].text
                                   .map(row => Array.from(row, Number))""")
    assert sum(map(sum, counts)) == 10_000
    assert sum(counts[i][i] for i in range(10)) == round(float(accuracy.rstrip("%")) * 100)
    page.evaluate("() => document.activeElement && document.activeElement.blur()")  # no tooltip in the picture
    page.mouse.move(0, 0)
    page.evaluate("() => document.querySelector('.st-key-ts_loss_fig').scrollIntoView({block: 'center'})")
    page.wait_for_timeout(300)
    screenshot(page, "training_studio_run")  # the run's status, its metrics and the curves


# ------------------------------------------------------------------------------------------ shared links


def thumb_value(page, key: str) -> str:
    """The value a slider shows on its thumb (formatted as the learner reads it)."""
    return page.locator(f'.st-key-{key} [data-testid="stSliderThumbValue"]').first.inner_text()


def selected(page, key: str) -> str:
    """The option a selectbox shows."""
    return page.locator(f'.st-key-{key} [role="combobox"]').input_value()


def query(page) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()}


@pytest.mark.browser
def test_shared_links_open_lessons_with_their_settings(streamlit_server, page):
    import torch

    from core import landscapes, models, optimizer_lab
    from core.optim_config import RunConfig

    # Broadcasting: both shapes and the cap of the small example
    link = {"bc_a": "8,1,6,1", "bc_b": "7,1,5", "bc_cap": "2"}
    open_lesson(page, streamlit_server, "broadcasting", "?" + urlencode(link, safe=","))
    settle(page)
    assert shows(lambda: page.locator(".st-key-bc_a input").input_value(), "8,1,6,1") == "8,1,6,1"
    assert shows(lambda: page.locator(".st-key-bc_b input").input_value(), "7,1,5") == "7,1,5"
    assert shows(lambda: thumb_value(page, "bc_cap"), "2") == "2"
    shape = str(tuple(torch.broadcast_shapes((8, 1, 6, 1), (7, 1, 5))))
    assert shows(lambda: metric_value(page, "Result shape").inner_text(), shape) == shape
    rows = "() => { const z = document.querySelector('.st-key-bc_out_fig .js-plotly-plot').data[0].z;" \
           " return (z._inputArray || z).length; }"  # plotly keeps a typed array's rows in _inputArray
    assert shows(lambda: page.evaluate(rows), 2) == 2  # every size above 1 capped at 2: the a + b slice has 2 rows
    assert {k: v for k, v in query(page).items() if k != "session"} == link  # not the private token  # the page keeps the settings in its own link
    assert_clean(page, "broadcasting link")

    # Optimizer lab: function, start, steps, two optimizers and Adam's learning rate
    link = {"ol_fn": "Rosenbrock", "ol_x0": "-1.5", "ol_y0": "2", "ol_steps": "300", "ol_opts": "SGD,Adam",
            "ol_lr_adam": "0.05"}
    open_lesson(page, streamlit_server, "optimizer_lab", "?" + urlencode(link, safe=","))
    settle(page)
    assert shows(lambda: selected(page, "ol_fn"), "Rosenbrock") == "Rosenbrock"
    sliders = ["-1.50", "2.00", "300", "0.05"]
    assert shows(lambda: [thumb_value(page, k) for k in ("ol_x0", "ol_y0", "ol_steps", "ol_lr_adam")], sliders) == sliders
    tags = lambda: page.locator(".st-key-ol_opts [data-tag]").evaluate_all("tags => tags.map(t => t.ariaLabel)")  # noqa: E731
    assert shows(tags, ["SGD", "Adam"]) == ["SGD", "Adam"]
    assert shows(lambda: page.evaluate("() => document.querySelector('.st-key-ol_contour .js-plotly-plot').data"
                                       ".filter(t => t.name === 'SGD' || t.name === 'Adam').length"), 2) == 2
    paths = page.evaluate("""() => Object.fromEntries(document.querySelector('.st-key-ol_contour .js-plotly-plot')
        .data.filter(t => t.name === 'SGD' || t.name === 'Adam')
        .map(t => [t.x._inputArray || t.x, t.y._inputArray || t.y, t.name])
        .map(([x, y, name]) => [name, [x.at(0), y.at(0), x.at(-1), y.at(-1)]]))""")
    land = landscapes.LANDSCAPES["Rosenbrock"]
    runs = optimizer_lab.run(land.f, (-1.5, 2.0), [RunConfig("SGD", lr=1e-3), RunConfig("Adam", lr=0.05)],
                             300, bound=land.bound)
    for t in runs:  # the paths in the browser are the ones torch.optim takes with these settings
        assert paths[t.config.optimizer] == pytest.approx([-1.5, 2.0, *t.final], abs=1e-4), t.config.optimizer
    assert {k: v for k, v in query(page).items() if k != "session"} == link  # not the private token
    assert_clean(page, "optimizer_lab link")

    # Training studio: a model and an optimizer that are not the defaults
    link = {"ts_arch": "cnnnet", "ts_dropout": "0.25", "ts_opt": "adamw", "ts_lr": "0.001", "ts_epochs": "5"}
    open_lesson(page, streamlit_server, "training_studio", "?" + urlencode(link))
    settle(page)
    assert shows(lambda: selected(page, "ts_arch"), "CNNNet (classic CIFAR CNN)") == "CNNNet (classic CIFAR CNN)"
    assert shows(lambda: selected(page, "ts_opt"), "AdamW") == "AdamW"
    sliders = ["0.25", "0.001", "5"]
    assert shows(lambda: [thumb_value(page, k) for k in ("ts_dropout", "ts_lr", "ts_epochs")], sliders) == sliders
    assert page.locator(".st-key-ts_momentum").count() == 0  # AdamW has no momentum knob
    model = models.build_model(models.ModelConfig("cnnnet", 1, 28, 10, dropout=0.25,
                                                  widths=models.scaled_widths("cnnnet", 1.0)))
    params = f"{models.count_parameters(model):,}"
    assert shows(lambda: metric_value(page, "Parameters").first.inner_text(), params) == params
    assert {k: v for k, v in query(page).items() if k != "session"} == link  # not the private token
    assert_clean(page, "training_studio link")


@pytest.mark.browser
def test_a_teachers_link_hides_and_locks_controls(streamlit_server, page):
    since = log_size(streamlit_server)
    open_lesson(page, streamlit_server, "math", "?ma_part=norm&ma_p=1&hide=ma_seed,ma_xshape&lock=ma_p,ma_part")
    settle(page)
    assert not page.locator(".st-key-ma_seed").is_visible() and page.locator(".st-key-ma_p").is_visible()
    locked = page.locator(".st-key-ma_p").evaluate("e => getComputedStyle(e).pointerEvents")
    assert locked == "none"
    assert "hide=ma_seed" in page.url  # the share link keeps the exercise
    page.get_by_role("button", name="Show the full lesson").click()
    assert shows(lambda: page.locator(".st-key-ma_seed").is_visible(), True)
    assert "hide=" not in page.url
    assert_clean(page, "math")
    assert log_errors(streamlit_server, since) == []


@pytest.mark.browser
def test_the_notebook_download_holds_the_lessons_code(streamlit_server, page):
    open_lesson(page, streamlit_server, "broadcasting", "?bc_a=3,1,5")
    settle(page)
    with page.expect_download() as download:
        page.locator(".st-key-bc_notebook").get_by_role("button").click()
    nb = json.loads(download.value.path().read_text())
    code = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert nb["nbformat"] == 4 and "import torch" in code and "(3, 1, 5)" in code  # the link's shape
    assert "bc_a=3,1,5" in "".join(nb["cells"][0]["source"])
