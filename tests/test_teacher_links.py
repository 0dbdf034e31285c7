"""A teacher's link: `hide=` keeps controls off the page, `lock=` shows them fixed at the link's value (set again on
every run), the learner is told and can go back to the full lesson; keys the lesson does not bind are ignored."""

from tests.helpers import metrics
from tests.test_robustness import open_with_link

MATH = "pages/15_math.py"


def styles(at) -> str:
    return " ".join(h.proto.body for h in at.get("html"))


def test_hidden_and_locked_controls():
    at = open_with_link(MATH, {"ma_part": "norm", "ma_p": "1", "hide": "ma_seed,ma_xshape,no_such_key",
                               "lock": "ma_p,ma_part"})
    assert not at.exception
    css = styles(at)
    assert ".st-key-ma_seed {display: none" in css and ".st-key-ma_xshape {display: none" in css
    assert ".st-key-ma_p {pointer-events: none" in css and "no_such_key" not in css
    assert any("fixed by your teacher's link" in i.value for i in at.info)
    assert at.session_state["ma_p"] == "1"
    at.session_state["ma_p"] = "inf"  # a locked control moved anyway (keyboard, a stale click)
    at.run()
    assert at.session_state["ma_p"] == "1" and metrics(at)["formula"] == "Σ|x|"
    assert at.query_params.get("hide") in ("ma_seed,ma_xshape,no_such_key", ["ma_seed,ma_xshape,no_such_key"])  # kept


def test_the_learner_can_open_the_full_lesson():
    at = open_with_link(MATH, {"ma_part": "norm", "hide": "ma_seed", "lock": "ma_p"})
    at.button(key="ma_full_lesson").click()
    at.run()
    at.run()
    assert not at.exception and "display: none" not in styles(at)
    assert not any("teacher" in i.value for i in at.info) and "hide" not in at.query_params
    at.session_state["ma_p"] = "inf"
    at.run()
    assert at.session_state["ma_p"] == "inf"


def test_a_plain_link_has_no_teacher_notice():
    at = open_with_link(MATH, {"ma_part": "norm"})
    assert not at.get("html") or "st-key" not in styles(at)
    assert not any("teacher" in i.value for i in at.info)
