"""The tiny transformer through AppTest: the model on the page is the one its numbers describe, training advances
it, what it writes is its own greedy or sampled output, and bad prompts or texts get a message."""

import torch

from core.transformer_training import filter_probs
from tests.helpers import errors, metrics, open_page, rerun

PAGE = "pages/63_tiny_transformer.py"


def test_the_page_shows_its_model_and_writes_with_it(app):
    at = open_page(app, PAGE)
    trainer = at.session_state["tt_trainer"]
    m = metrics(at)
    assert m["Parameters"] == f"{trainer.n_params:,}" and trainer.n_params <= 100_000
    assert m["Step"] == "0 / 1,000"
    trainer.train_steps(3)  # as a burst of the live panel would
    at.session_state["tt_temp"] = 0.0
    at.session_state["tt_prompt"] = "fedcba="
    rerun(at)
    assert metrics(at)["Step"] == "3 / 1,000" and metrics(at)["Loss"] == f"{trainer.losses[-1]:.3f}"
    data = trainer.data
    ids = data.encode("fedcba=")
    model = trainer.model.eval()
    with torch.no_grad():  # greedy decoding by hand: the page's text must be the argmax, character by character
        for _ in range(data.answer_len):
            ids.append(int(model(torch.tensor(ids)[None])[0, -1].argmax()))
    written = data.decode(ids[len("fedcba="):])
    assert any(f"model writes** `{written}`" in md.value for md in at.markdown)
    with torch.no_grad():
        logits = model(torch.tensor(data.encode("fedcba="))[None])[0, -1]
    probs, _ = filter_probs(logits, 0.0)
    assert probs.max() == 1.0  # temperature 0 puts everything on one character


def test_training_in_the_live_panel_counts_steps(app):
    at = open_page(app, PAGE)
    at.session_state["tt_max_steps"] = 200
    at.session_state["tt_training"] = True
    rerun(at)  # the live panel trains one burst in this run
    trainer = at.session_state["tt_trainer"]
    assert trainer.step >= 1 and metrics(at)["Step"] == f"{trainer.step:,} / 200"


def test_changed_settings_keep_the_model_until_new_model(app):
    at = open_page(app, PAGE)
    first = at.session_state["tt_trainer"]
    at.session_state["tt_heads"] = 2
    rerun(at)
    assert at.session_state["tt_trainer"] is first and any("New model" in i.value for i in at.info)
    at.button(key="tt_reset").click()
    rerun(at)
    assert at.session_state["tt_trainer"] is not first
    assert at.session_state["tt_trainer"].model.cfg.n_heads == 2


def test_text_data_and_bad_input(app):
    at = open_page(app, PAGE)
    at.session_state["tt_prompt"] = "ABC"  # capitals are not in the sorting task's vocabulary
    rerun(at)
    assert any("not in the vocabulary" in e for e in errors(at))
    at.session_state["tt_prompt"] = ""
    at.session_state["tt_data"] = "text"
    at.session_state["tt_text"] = "too short"
    rerun(at)
    assert any("paste at least 1,000" in e for e in errors(at))
    at.session_state["tt_data"] = "docs"
    at.session_state["tt_context"] = 32
    rerun(at)
    assert not errors(at) and any("New model" in i.value for i in at.info)
    at.button(key="tt_reset").click()
    rerun(at)
    trainer = at.session_state["tt_trainer"]
    assert trainer.data.context == 32 and metrics(at)["Vocabulary"] == str(len(trainer.data.vocab))
