"""A safe formula language for f(x, y): numbers, x, y, pi, e, + - * / ** and a whitelist of functions.

The text is parsed with `ast.parse(mode="eval")` and every node is checked against a whitelist, then turned
into a tree of small Python closures that call torch. Nothing the learner types is ever passed to eval/exec.

Example: compile_formula("sin(x) * y**2")(x, y) -> torch.sin(x) * y ** 2
"""

import ast
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass

import torch

from core.parsing import InputError

MAX_LENGTH = 200  # characters; learners' formulas are short, and long ones only cost time
MAX_DEPTH = 30  # nesting of operations
MAX_NODES = 200
MAX_EXPONENT = 64  # a constant exponent beyond this is rejected: 9**9**9 would never finish in Python
MAX_CONSTANT = 2.0**53  # larger numbers lose integer precision and overflow torch's integer scalars

# name -> (torch function for tensors, math function for plain numbers)
FUNCTIONS: dict[str, tuple[Callable, Callable]] = {
    "sin": (torch.sin, math.sin),
    "cos": (torch.cos, math.cos),
    "tan": (torch.tan, math.tan),
    "asin": (torch.asin, math.asin),
    "acos": (torch.acos, math.acos),
    "atan": (torch.atan, math.atan),
    "sinh": (torch.sinh, math.sinh),
    "cosh": (torch.cosh, math.cosh),
    "tanh": (torch.tanh, math.tanh),
    "exp": (torch.exp, math.exp),
    "log": (torch.log, math.log),
    "log2": (torch.log2, math.log2),
    "log10": (torch.log10, math.log10),
    "sqrt": (torch.sqrt, math.sqrt),
    "abs": (torch.abs, abs),
}
CONSTANTS = {"pi": math.pi, "e": math.e}
VARIABLES = ("x", "y")

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.Pow: operator.pow}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_ALLOWED = "numbers, x, y, pi, e, `+ - * / **` (or `^`), parentheses and " + ", ".join(FUNCTIONS)


@dataclass(frozen=True)
class Formula:
    """A compiled formula: call it with two tensors (or numbers) x and y."""

    text: str  # as typed
    code: str  # the same formula as torch code, e.g. "torch.sin(x) * y ** 2"
    fn: Callable

    def __call__(self, x, y):
        return self.fn(x, y)


@dataclass(frozen=True)
class _Node:
    fn: Callable  # (x, y) -> tensor or number
    const: float | None  # the value when the subtree has no x or y (checked at compile time)
    code: ast.expr  # the torch-code twin of this subtree, for display


def compile_formula(text: str) -> Formula:
    """Check `text` against the whitelist and compile it; raise InputError with a message for the learner.

    Example: compile_formula("x^2 + 3*y^2").code -> "x ** 2 + 3 * y ** 2"
    """
    source = (text or "").strip()
    if not source:
        raise InputError("Type a formula in x and y, e.g. `x**2 + 3*y**2`.")
    if len(source) > MAX_LENGTH:
        raise InputError(f"That formula has {len(source)} characters; at most {MAX_LENGTH} are allowed here.")
    if any(ord(c) < 32 for c in source):
        raise InputError("The formula contains control characters; type it on one line.")
    source = source.replace("^", "**").replace("\u2212", "-").replace("\u00d7", "*")
    try:
        tree = ast.parse(source, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise InputError("Could not read that formula. Check the brackets and write every product with `*`, "
                         "e.g. `2*x*y`, not `2xy`.") from None
    nodes = sum(1 for _ in ast.walk(tree))
    if nodes > MAX_NODES:
        raise InputError(f"That formula is too long ({nodes} parts; at most {MAX_NODES}).")
    node = _compile(tree.body, 0)
    if node.const is not None:
        raise InputError("The formula uses neither x nor y, so there is nothing to optimise.")
    return Formula(text=text, code=ast.unparse(node.code), fn=node.fn)


def _compile(node: ast.AST, depth: int) -> _Node:
    if depth > MAX_DEPTH:
        raise InputError(f"The formula is nested too deeply (more than {MAX_DEPTH} levels).")
    if isinstance(node, ast.Constant):
        return _constant(node)
    if isinstance(node, ast.Name):
        return _name(node)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _binary(node, depth)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        inner = _compile(node.operand, depth + 1)
        op = _UNARY[type(node.op)]
        arg = inner.fn
        return _Node(lambda x, y: op(arg(x, y)), _fold(op, inner.const), ast.UnaryOp(node.op, inner.code))
    if isinstance(node, ast.Call):
        return _call(node, depth)
    raise InputError(_refusal(node))


def _constant(node: ast.Constant) -> _Node:
    value = node.value
    if isinstance(value, bool) or not isinstance(value, int | float):
        kind = "Text in quotes" if isinstance(value, str | bytes) else f"The value {value!r}"
        raise InputError(f"{kind} is not allowed: a formula holds only {_ALLOWED}.")
    if not abs(value) < MAX_CONSTANT:
        raise InputError(f"The number {value:.3g} is too large for this lab (at most {MAX_CONSTANT:.3g}).")
    number = float(value)  # Python floats only: integer arithmetic could grow without bound (9**9**9)
    return _Node(lambda x, y: number, number, ast.Constant(value))


def _name(node: ast.Name) -> _Node:
    if node.id == "x":
        return _Node(lambda x, y: x, None, ast.Name("x"))
    if node.id == "y":
        return _Node(lambda x, y: y, None, ast.Name("y"))
    if node.id in CONSTANTS:
        number = CONSTANTS[node.id]
        return _Node(lambda x, y: number, number, ast.Attribute(ast.Name("math"), node.id))
    if node.id in FUNCTIONS:
        raise InputError(f"`{node.id}` is a function: call it with brackets, e.g. `{node.id}(x)`.")
    raise InputError(f"Unknown name `{node.id[:30]}`. A formula may use {_ALLOWED}.")


def _binary(node: ast.BinOp, depth: int) -> _Node:
    left, right = _compile(node.left, depth + 1), _compile(node.right, depth + 1)
    op = _BINARY[type(node.op)]
    if isinstance(node.op, ast.Pow) and right.const is not None and abs(right.const) > MAX_EXPONENT:
        raise InputError(f"The exponent {right.const:.3g} is too large (at most {MAX_EXPONENT} here).")
    const = None
    if left.const is not None and right.const is not None:
        const = _fold(op, left.const, right.const)
    lf, rf = left.fn, right.fn
    return _Node(lambda x, y: op(lf(x, y), rf(x, y)), const, ast.BinOp(left.code, node.op, right.code))


def _call(node: ast.Call, depth: int) -> _Node:
    if not isinstance(node.func, ast.Name):
        raise InputError(_refusal(node.func) if not isinstance(node.func, ast.Attribute)
                         else "Attribute access (a `.` after a name) is not allowed in a formula.")
    name = node.func.id
    if name not in FUNCTIONS:
        raise InputError(f"`{name[:30]}` is not an allowed function. Allowed: {', '.join(FUNCTIONS)}.")
    if node.keywords or len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
        raise InputError(f"`{name}()` takes exactly one plain argument, e.g. `{name}(x)`.")
    inner = _compile(node.args[0], depth + 1)
    tensor_fn, number_fn = FUNCTIONS[name]
    arg = inner.fn
    if inner.const is not None:  # a plain number: use math, as torch functions take tensors
        value = _fold(number_fn, inner.const, name=name)
        code = ast.Call(ast.Name("abs") if name == "abs" else ast.Attribute(ast.Name("math"), name), [inner.code], [])
        return _Node(lambda x, y: number_fn(arg(x, y)), value, code)
    return _Node(lambda x, y: tensor_fn(arg(x, y)), None,
                 ast.Call(ast.Attribute(ast.Name("torch"), name), [inner.code], []))


def _fold(op: Callable, *args: float | None, name: str = "") -> float | None:
    """Evaluate a constant part now, so that overflow or a math error is reported before anything runs."""
    if any(a is None for a in args):
        return None
    try:
        value = op(*args)
    except ZeroDivisionError:
        raise InputError("The formula divides a number by zero.") from None
    except (OverflowError, ValueError):
        what = f"{name}() of {args[0]:.3g}" if name else "a constant part of the formula"
        raise InputError(f"Cannot compute {what}: the number is out of range.") from None
    if isinstance(value, complex):
        raise InputError("A negative number to a fractional power has no real value.")
    if not math.isfinite(value) or abs(value) >= MAX_CONSTANT:
        raise InputError("A constant part of the formula is too large.")
    return float(value)


def _refusal(node: ast.AST) -> str:
    """Why a node is not allowed, in the learner's words."""
    reasons = {
        ast.Attribute: "Attribute access (a `.` after a name) is not allowed in a formula.",
        ast.Subscript: "Indexing with [...] is not allowed in a formula.",
        ast.Lambda: "lambda is not allowed in a formula.",
        ast.Compare: "Comparisons (<, >, ==) are not allowed: a formula computes a number.",
        ast.BoolOp: "and/or are not allowed: a formula computes a number.",
        ast.IfExp: "if/else is not allowed in a formula.",
        ast.NamedExpr: "Assignments are not allowed in a formula.",
        ast.JoinedStr: "Text in quotes is not allowed in a formula.",
    }
    for kind, reason in reasons.items():
        if isinstance(node, kind):
            return reason
    if isinstance(node, ast.BinOp | ast.UnaryOp):
        return f"The operator in `{ast.unparse(node)[:30]}` is not allowed. A formula may use {_ALLOWED}."
    if isinstance(node, ast.Tuple | ast.List | ast.Set | ast.Dict | ast.ListComp | ast.SetComp | ast.DictComp
                  | ast.GeneratorExp):
        return "Tuples, lists, sets, dicts and comprehensions are not allowed: a formula computes one number."
    return f"`{type(node).__name__}` is not allowed in a formula. A formula may use {_ALLOWED}."
