"""core.expr: the safe formula language refuses anything but arithmetic, and computes what torch computes."""

import builtins
import math
import re
import time

import pytest
import torch

from core.expr import MAX_EXPONENT, MAX_LENGTH, compile_formula
from core.parsing import InputError

HOSTILE = {
    "__import__('os')": "`__import__` is not an allowed function",
    "__import__('os').system('ls')": "Attribute access",
    "().__class__": "Attribute access",
    "().__class__.__bases__[0].__subclasses__()": "Attribute access",
    "x.__class__": "Attribute access",
    "x[0]": "Indexing",
    "lambda: 0": "lambda",
    "(lambda x: x)(1)": "not allowed",
    "[c for c in ()]": "comprehensions",
    "{'a': 1}": "dicts",
    "eval('1')": "`eval` is not an allowed function",
    "exec('x = 1')": "`exec` is not an allowed function",
    "open('/etc/passwd')": "`open` is not an allowed function",
    "getattr(x, 'real')": "`getattr` is not an allowed function",
    "globals()": "`globals` is not an allowed function",
    "os.system('ls')": "Attribute access",
    "'x' * 9": "Text in quotes",
    "f'{x}'": "Text in quotes",
    "sin(x, y)": "takes exactly one plain argument",
    "sin(x=1)": "takes exactly one plain argument",
    "sin(*x)": "takes exactly one plain argument",
    "x if y else 1": "if/else",
    "x < y": "Comparisons",
    "x and y": "and/or",
    "(z := 1)": "Assignments",
    "x @ y": "operator",
    "x // y": "operator",
    "z + x": "Unknown name `z`",
    "torch.sin(x)": "Attribute access",
    "sin": "is a function",
    "True * x": "The value True",
    "1j * x": "The value 1j",
}


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_is_refused_with_a_clear_message(text):
    with pytest.raises(InputError, match=re.escape(HOSTILE[text])):
        compile_formula(text)


@pytest.mark.parametrize("text", ["9**9**9", "x**9**9", "x**1000", "(9**9)**9", "2**10**10 * x", "1e400 * x",
                                  "10**300 * x", "exp(1000) * x"])
def test_huge_powers_and_numbers_are_refused_at_once(text):
    t0 = time.perf_counter()
    with pytest.raises(InputError):
        compile_formula(text)
    assert time.perf_counter() - t0 < 0.1  # refused before anything big is computed


@pytest.mark.parametrize("text, reason", [
    ("", "Type a formula"),
    ("x" * (MAX_LENGTH + 1), "characters"),
    ("-" * 150 + "x", "too long"),
    ("sin(" * 35 + "x" + ")" * 35, "nested too deeply"),
    ("2x", "write every product with `\\*`"),
    ("x +", "Could not read"),
    ("x\x00", "control characters"),
    ("3 + 4", "neither x nor y"),
    ("1/0 + x", "divides a number by zero"),
    ("sqrt(-1) * x", "out of range"),
    ("(-8)**(1/3) * x", "fractional power"),
])
def test_malformed_text_is_refused(text, reason):
    with pytest.raises(InputError, match=reason):
        compile_formula(text)


def test_formulas_never_reach_eval_or_exec(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("eval/exec must never run")

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    f = compile_formula("sin(x) * exp(-y**2) + abs(x - y) / 3")
    assert float(f(torch.tensor(1.0), torch.tensor(0.0))) == pytest.approx(math.sin(1) + 1 / 3, rel=1e-6)


CASES = [
    ("(x**2 + y - 11)**2 + (x + y**2 - 7)**2", lambda x, y: (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2),
    ("x^2 + 3*y^2", lambda x, y: x**2 + 3 * y**2),
    ("20 + x**2 - 10*cos(2*pi*x) + y**2 - 10*cos(2*pi*y)",
     lambda x, y: 20 + x**2 - 10 * torch.cos(2 * math.pi * x) + y**2 - 10 * torch.cos(2 * math.pi * y)),
    ("sin(x)*cos(y) + 0.1*(x**2 + y**2)", lambda x, y: torch.sin(x) * torch.cos(y) + 0.1 * (x**2 + y**2)),
    ("exp(-(x**2 + y**2)/2) * -1 + log(1 + x**2) + sqrt(1 + y**2)",
     lambda x, y: torch.exp(-(x**2 + y**2) / 2) * -1 + torch.log(1 + x**2) + torch.sqrt(1 + y**2)),
    ("abs(x) + tanh(y) - atan(x*y) + sinh(x/4) + cosh(y/4) + log10(2 + x**2)",
     lambda x, y: torch.abs(x) + torch.tanh(y) - torch.atan(x * y) + torch.sinh(x / 4) + torch.cosh(y / 4)
     + torch.log10(2 + x**2)),
    ("2/(1 + x**2) - y**-2 + e**(x/3) + -x", lambda x, y: 2 / (1 + x**2) - y**-2 + math.e ** (x / 3) + -x),
    ("sqrt(2)*x - abs(-3)*y", lambda x, y: math.sqrt(2) * x - abs(-3) * y),
]


@pytest.mark.parametrize("text, reference", CASES, ids=[c[0][:30] for c in CASES])
def test_values_and_gradients_equal_the_hand_written_torch_function(text, reference):
    f = compile_formula(text)
    g = torch.Generator().manual_seed(0)
    pts = torch.rand(50, 2, generator=g) * 4 - 2 + 0.01  # (50, 2), away from y = 0 for y**-2
    a = pts.clone().requires_grad_()
    b = pts.clone().requires_grad_()
    out_a, out_b = f(a[:, 0], a[:, 1]), reference(b[:, 0], b[:, 1])
    assert torch.equal(out_a, out_b)
    out_a.sum().backward()
    out_b.sum().backward()
    assert torch.equal(a.grad, b.grad)


@pytest.mark.parametrize("text, reference", CASES, ids=[c[0][:30] for c in CASES])
def test_the_displayed_code_computes_the_same_values(text, reference):
    f = compile_formula(text)
    assert "**" not in text or "**" in f.code
    namespace = {"torch": torch, "math": math}
    shown = eval(f"lambda x, y: {f.code}", namespace)  # our own generated code, in a test only
    x, y = torch.linspace(-2, 2, 7) + 0.01, torch.linspace(1, 3, 7)
    assert torch.equal(shown(x, y), f(x, y))


def test_code_uses_torch_functions_and_math_constants():
    assert compile_formula("sin(2*pi*x) + y^2").code == "torch.sin(2 * math.pi * x) + y ** 2"
    assert compile_formula("x * sqrt(2)").code == "x * math.sqrt(2)"


def test_a_constant_exponent_up_to_the_cap_is_fine():
    f = compile_formula(f"x**{MAX_EXPONENT} + y")
    assert float(f(torch.tensor(1.0), torch.tensor(0.0))) == 1.0
    with pytest.raises(InputError, match="exponent"):
        compile_formula(f"x**{MAX_EXPONENT + 1} + y")


def test_variable_exponents_overflow_to_inf_instead_of_hanging():
    f = compile_formula("x**y")
    assert torch.isinf(f(torch.tensor(10.0), torch.tensor(1000.0)))


def test_messages_keep_their_asterisks_in_markdown():
    """A formula in a message is in backticks: Markdown would otherwise eat `*` pairs as italics."""
    for text in ("2xy", ""):
        with pytest.raises(InputError) as info:
            compile_formula(text)
        message = str(info.value)
        stars = [m.start() for m in re.finditer(r"\*", message)]
        ticks = [m.start() for m in re.finditer("`", message)]
        assert stars and all(sum(t < s for t in ticks) % 2 == 1 for s in stars), message  # every * inside `...`
