import threading

import streamlit as st
import torch

from core.char_tasks import TASKS, CharTask, TaskConfig, char_task, corpus
from core.parsing import InputError
from core.slots import SLOTS
from core.transformer_code import transformer_code
from core.transformer_training import CharTrainer, TrainSettings
from ui import figures_transformer as figures
from ui import links
from ui.common import code_panel, fail, header

DATA = {"sort": "Sort the letters", "reverse": "Reverse the letters", "add": "Add two numbers",
        "docs": "Python's documentation (text)", "text": "Your own text"}
PARAMS = {
    "tt_data": links.Choice("sort", options=tuple(DATA)),
    "tt_length": links.Int(8, 1, 16),
    "tt_letters": links.Int(10, 2, 26),
    "tt_context": links.Choice(64, options=(16, 32, 64, 128)),
    "tt_layers": links.Int(2, 1, 2),
    "tt_heads": links.Choice(4, options=(1, 2, 4)),
    "tt_dmodel": links.Choice(48, options=(16, 32, 48, 64)),
    "tt_lr": links.Choice(0.003, options=(0.0003, 0.001, 0.003, 0.01)),
    "tt_seed": links.Int(0, 0, 9999),
    "tt_max_steps": links.Choice(1000, options=(200, 500, 1000, 2000, 5000)),
    "tt_prompt": links.Text("", max_len=200, refused=("ABC", "dcba=dcba=dcba=dcba=dcba=dcba"), accepted="fedcba"),
    "tt_temp": links.Float(1.0, 0.0, 2.0),
    "tt_topk": links.Int(0, 0, 100),
    "tt_topp": links.Float(1.0, 0.05, 1.0),
    "tt_n": links.Int(40, 1, 400),
    "tt_sample_seed": links.Int(0, 0, 9999),
}
TICK_S, BURST_S = 0.3, 0.8  # while it trains: a live update every 0.3 s, each with about 0.8 s of training

links.bind(PARAMS)
ss = st.session_state
header("A tiny transformer",
       "A character-level decoder, the same blocks as GPT (embeddings, causal self-attention, an MLP, "
       "LayerNorm), small enough to train here in a minute or two. Pick a task, press **Train** and watch the loss "
       "fall; then type a prompt and look at what each attention head looks at, and at the next character's "
       "probabilities under temperature, top-k and top-p. On **sorting**, a head learns to look at the letters "
       "still to be written; on text, heads look at the previous characters of a word.")

c = st.columns([1.6, 1, 1, 1])
c[0].selectbox("Data", tuple(DATA), key="tt_data", format_func=DATA.get)
task = ss["tt_data"] in TASKS
if task:
    c[1].slider("Length", 1, 6 if ss["tt_data"] == "add" else 16, key="tt_length",
                help="Letters to sort or reverse; digits of each number to add.")
    c[2].slider("Alphabet", 2, 26, key="tt_letters", disabled=ss["tt_data"] == "add",
                help="Sort and reverse use the first this-many letters.")
else:
    c[1].select_slider("Context", (16, 32, 64, 128), key="tt_context", help="Characters the model sees at once.")
c[3].number_input("Seed", 0, 9999, key="tt_seed", help="The first weights and the batches.")
m = st.columns(5)
m[0].segmented_control("Layers", (1, 2), key="tt_layers", required=True)
m[1].segmented_control("Heads", (1, 2, 4), key="tt_heads", required=True)
m[2].select_slider("d_model", (16, 32, 48, 64), key="tt_dmodel", help="The width of every token's vector.")
m[3].select_slider("Learning rate (AdamW)", (0.0003, 0.001, 0.003, 0.01), key="tt_lr", format_func=lambda v: f"{v:g}")
m[4].select_slider("Steps", (200, 500, 1000, 2000, 5000), key="tt_max_steps", help="Training stops here.")
if ss["tt_data"] == "text":
    st.text_area("Your text (1,000 to 100,000 characters; it stays in this tab, not in the share link)",
                 key="tt_text", height=120)


@st.cache_resource(show_spinner=False, max_entries=4)
def _corpus(text: str | None, context: int):
    return corpus(text, context)  # read-only, shared: the text's ids


try:
    if task:
        data = char_task(TaskConfig(ss["tt_data"], min(ss["tt_length"], 6 if ss["tt_data"] == "add" else 16),
                                    ss["tt_letters"]))
    else:
        data = _corpus(None if ss["tt_data"] == "docs" else ss.get("tt_text", ""), ss["tt_context"])
    settings = TrainSettings(ss["tt_dmodel"], ss["tt_heads"], ss["tt_layers"], 64, ss["tt_lr"], 1.0, ss["tt_seed"])
    settings.model_config(data)
except InputError as exc:
    fail(str(exc))
signature = (ss["tt_data"], data.vocab, data.context, getattr(data, "text", "")[:64], len(getattr(data, "text", "")),
             settings)
trainer: CharTrainer | None = ss.get("tt_trainer")
if trainer is None or ss.pop("tt_new", False):
    trainer = ss["tt_trainer"] = CharTrainer(data, settings)
    ss["tt_signature"], ss["tt_acc"], ss["tt_training"] = signature, [], False
    ss["tt_lock"] = threading.Lock()
elif ss.get("tt_signature") != signature:
    st.info("The settings above differ from the model below: **New model** builds one with them (the model "
            "below is kept until then).", icon=":material/info:")
lock: threading.Lock = ss["tt_lock"]
data = trainer.data  # below: the model's own data (the settings above may already describe the next model)
task = isinstance(data, CharTask)
done = trainer.step >= ss["tt_max_steps"]


def _train(on: bool) -> None:
    ss["tt_training"] = on


b = st.columns([1, 1, 1.3, 4])
b[0].button("Train", icon=":material/play_arrow:", key="tt_train", type="primary", on_click=_train, args=(True,),
            disabled=ss["tt_training"] or done, width="stretch")
b[1].button("Pause", icon=":material/pause:", key="tt_pause", on_click=_train, args=(False,),
            disabled=not ss["tt_training"], width="stretch")
b[2].button("New model", icon=":material/restart_alt:", key="tt_reset", width="stretch",
            on_click=lambda: ss.update(tt_new=True, tt_training=False))


def _measure() -> None:
    """The exact accuracy on 200 fixed problems, now and then (greedy decoding of a batch: ~0.1 s)."""
    acc = ss["tt_acc"]
    if task and trainer.step and (not acc or trainer.step - acc[-1][0] >= 100 or (done and acc[-1][0] != trainer.step)):
        acc.append((trainer.step, trainer.exact_accuracy(200)))


@st.fragment(run_every=TICK_S if ss["tt_training"] and not done else None)
def live() -> None:
    if ss.get("tt_training") and trainer.step < ss["tt_max_steps"] and lock.acquire(blocking=False):
        try:
            with SLOTS.turn(trainer, 2 * BURST_S, keep_waiting=lambda: ss.get("tt_training", False)) as turn:
                if turn.granted:
                    trainer.train_for(BURST_S, max_steps=ss["tt_max_steps"] - trainer.step)
                else:
                    st.caption(f"Waiting for a training slot: {turn.ahead} run(s) of other learners before it.")
            _measure()
        finally:
            lock.release()
        if trainer.step >= ss["tt_max_steps"]:
            ss["tt_training"] = False
            st.rerun()
    k = st.columns(5)
    k[0].metric("Step", f"{trainer.step:,} / {ss['tt_max_steps']:,}")
    k[1].metric("Loss", f"{trainer.losses[-1]:.3f}" if trainer.losses else "-")
    k[2].metric("Exact accuracy" if task else "Parameters", (f"{ss['tt_acc'][-1][1]:.0%}" if ss["tt_acc"] else "-")
                if task else f"{trainer.n_params:,}")
    k[3].metric("Speed", f"{trainer.steps_per_second:.1f} steps/s")
    k[4].metric("Parameters" if task else "Vocabulary", f"{trainer.n_params:,}" if task else f"{len(data.vocab)}")
    st.plotly_chart(figures.losses(trainer.losses, ss["tt_acc"]), key="tt_loss_fig")


live()
if task:
    st.caption("Exact accuracy: the share of 200 fixed problems the model answers completely right, writing one "
               "character at a time and always taking the most likely one. Chance is near 0%.")

# ---- try it: attention and sampling
st.subheader("Try it: attention and the next character")
example = data.decode(data.sequences(1, torch.Generator().manual_seed(ss["tt_sample_seed"]))[0].tolist()) \
    if task else "The "
default_prompt = example[:data.prompt_len] if task else example
p = st.columns([2, 1, 1, 1, 1, 1])
p[0].text_input("Prompt", key="tt_prompt", placeholder=default_prompt,
                help="Empty: an example. For a task, write the problem up to and including '='.")
p[1].slider("Temperature", 0.0, 2.0, step=0.05, key="tt_temp", help="0: always the most likely character.")
p[2].number_input("top-k (0 = off)", 0, 100, key="tt_topk")
p[3].slider("top-p", 0.05, 1.0, step=0.05, key="tt_topp")
p[4].number_input("Characters to write", 1, 400, key="tt_n", disabled=task,
                  help="A task writes its answer's length.")
p[5].number_input("Sampling seed", 0, 9999, key="tt_sample_seed",
                  help="Draws the characters (temperature above 0) and picks the example problem.")
prompt = ss["tt_prompt"] or default_prompt
if len(prompt) > data.context:
    fail(f"The prompt has {len(prompt)} characters; this model sees {data.context} at most.")
try:
    with lock:  # not while a burst is changing the weights
        nxt = trainer.next_token(prompt, ss["tt_temp"], ss["tt_topk"], ss["tt_topp"])
        gen = trainer.complete(prompt, min(ss["tt_n"], data.answer_len if task else ss["tt_n"]), ss["tt_temp"],
                               ss["tt_topk"], ss["tt_topp"], ss["tt_sample_seed"])
        maps = trainer.attention(prompt + gen.text)
except InputError as exc:
    fail(f"Prompt: {exc}")
shown = (prompt + gen.text)[-data.context:]
st.markdown(f"**Prompt** `{prompt}` → **model writes** `{gen.text}`" if "`" not in prompt + gen.text
            else "The model's text is shown below.")
if task:
    truth = example  # the example problem, answer included
    if not ss["tt_prompt"]:
        right = gen.text == truth[data.prompt_len:]
        (st.success if right else st.warning)(f"The right answer is `{truth[data.prompt_len:]}`: "
                                              f"{'correct' if right else 'not yet'}.")
cc = st.columns([1, 1])
cc[0].plotly_chart(figures.next_char(nxt.raw, nxt.probs, nxt.kept, data.vocab), key="tt_next_fig")
cc[1].dataframe({"character": [repr(data.vocab[s.token]) for s in gen.steps],
                 "probability": [round(s.prob, 3) for s in gen.steps]}, height=300, key="tt_gen_table")
st.caption("Left: the model's probabilities for the character after the prompt (grey) and what the sampler draws "
           "from after temperature, top-k and top-p (blue; pale = cut). Right: each written character and the "
           "probability it was drawn with.")
for layer, layer_maps in enumerate(maps):
    st.plotly_chart(figures.attention(layer_maps, shown, layer), key=f"tt_att_fig_{layer}")
st.caption("Each row is a character of the text; its row shows how much it looks at each earlier character "
           "(a causal mask hides the later ones, so the upper triangle is 0).")


@st.cache_data(show_spinner=False, max_entries=16)
def _code(_data, signature, settings, prompt, n, temperature, top_k, top_p, seed) -> str:
    return transformer_code(_data, settings, 5, prompt, n, temperature, top_k, top_p, seed)


code_panel(_code(data, ss["tt_signature"], trainer.settings, prompt, min(ss["tt_n"], 40), ss["tt_temp"], ss["tt_topk"],
                 ss["tt_topp"], ss["tt_sample_seed"]), title="PyTorch code: the model, 5 training steps, sampling")
