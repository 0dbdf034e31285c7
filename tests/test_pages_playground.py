"""The playground through AppTest: the numbers on the page are the model's, a step trains one epoch, the classic
experiments set their settings, the learner's points train, and hostile links get a message or their defaults."""

import pytest

from tests.helpers import errors, metrics, open_page, rerun
from tests.test_robustness import open_with_link
from ui.playground_parts import parse_layers

PAGE = "pages/35_playground.py"


def test_the_page_shows_the_models_numbers_and_a_step_trains_one_epoch(app):
    at = open_page(app, PAGE)
    play = at.session_state["pg_play"]
    m = metrics(at)
    assert m["Epoch"] == "0" and m["Train loss"] == f"{play.history[0].train_loss:.3f}"
    assert play.parameter_count() == 2 * 4 + 4 + 4 * 2 + 2 + 2 * 2 + 2  # features 2 -> 4 -> 2 -> 2 classes
    at.button(key="pg_step_button").click()
    rerun(at)
    m = metrics(at)
    assert m["Epoch"] == "1" and play.steps == 20  # 200 training points in batches of 10
    assert m["Test loss"] == f"{play.history[-1].test_loss:.3f}"
    assert m["Test accuracy"] == f"{play.history[-1].test_acc:.0%}"


def test_an_experiment_sets_its_settings_and_starts_afresh(app):
    at = open_page(app, PAGE)
    at.button(key="pg_x_xor_feature").click()
    rerun(at)
    play = at.session_state["pg_play"]
    assert play.data.name == "xor" and play.net.hidden == () and play.net.features == ("x1", "x2", "x1*x2")
    assert at.session_state["pg_playing"] is True
    assert any("x1\\*x2" in i.value for i in at.info)
    assert at.query_params.get("pg_data") in ("xor", ["xor"])


def test_own_points_train_and_travel_in_the_link(app):
    at = open_page(app, PAGE)
    at.session_state["pg_points"] = "1.5,-2,1;0.5,0.5,0"
    rerun(at)
    play = at.session_state["pg_play"]
    assert play.points.x_train[-2:].tolist() == [[1.5, -2.0], [0.5, 0.5]]
    assert play.points.y_train[-2:].tolist() == [1, 0]
    assert any("2 point(s) of yours" in c.value for c in at.caption)
    assert at.query_params.get("pg_points") in ("1.5,-2,1;0.5,0.5,0", ["1.5,-2,1;0.5,0.5,0"])


def test_layer_buttons_add_and_remove(app):
    at = open_page(app, PAGE)
    at.button(key="pg_layer_add").click()
    rerun(at)
    assert at.session_state["pg_layers"] == "4,2,2"
    at.button(key="pg_w0_add").click()
    rerun(at)
    assert at.session_state["pg_play"].net.hidden == (5, 2, 2)


@pytest.mark.parametrize("query, message", [
    ({"pg_layers": ",".join(["8"] * 10)}, "at most 6 hidden layers"),
    ({"pg_layers": ",".join(["8"] * 40)}, "at most 40 characters"),
    ({"pg_layers": "4,99"}, "1 to 8 neurons"),
    ({"pg_lr": "nan", "pg_n": "10000"}, "were not valid"),
    ({"pg_points": ";".join(["1,1,1"] * 10_000)}, "were not valid"),
    ({"pg_points": "1,1,7"}, "class must be a whole number from 0 to 1"),
])
def test_hostile_links_get_a_message(query, message):
    at = open_with_link(PAGE, query)
    assert not at.exception
    shown = errors(at) + [i.value for i in at.info]
    assert any(message in text for text in shown), shown


def test_a_teachers_link_hides_controls_by_their_short_names():
    at = open_with_link(PAGE, {"hide": "optimizer,features,layers"})
    css = " ".join(h.proto.body for h in at.get("html"))
    assert ".st-key-pg_optimizer {display: none" in css and ".st-key-pg_features {display: none" in css
    assert not [b for b in at.button if b.key == "pg_layer_add"]  # the layer buttons go with the layer box


@pytest.mark.parametrize("settings", [
    {"pg_data": "bumps", "pg_layers": "8,8,8,8,8,8", "pg_bn": True, "pg_act": "gelu"},
    {"pg_data": "arms", "pg_classes": 5, "pg_layers": "", "pg_features": ["sin(x1)"], "pg_discretize": True},
    {"pg_data": "blobs", "pg_reg": "L1", "pg_rate": 0.01, "pg_optimizer": "rmsprop", "pg_momentum": 0.9},
])
def test_every_kind_of_problem_draws_and_steps(app, settings):
    at = open_page(app, PAGE)
    for key, value in settings.items():
        at.session_state[key] = value
    rerun(at)
    at.button(key="pg_step_button").click()
    rerun(at)
    play = at.session_state["pg_play"]
    assert play.epoch == 1 and not errors(at)
    assert play.net.hidden == parse_layers(settings.get("pg_layers", "4,2"))
    accuracy = metrics(at)["Test accuracy"]
    assert accuracy == ("-" if play.regression else f"{play.history[-1].test_acc:.0%}")
