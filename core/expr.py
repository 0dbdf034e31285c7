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
    """A compiled formula: call it with one tensor (or number) per variable, in order (x and y by default)."""

    text: str  # as typed
    code: str  # the same formula as torch code, e.g. "torch.sin(x) * y ** 2"
    fn: Callable  # env (variable name -> value) -> value
    variables: tuple[str, ...] = VARIABLES

    def __call__(self, *args):
        return self.fn(dict(zip(self.variables, args, strict=True)))

    def evaluate(self, env: dict, trace: Callable | None = None):
        """The value for these variables; `trace(op, result, operands)` is called after every operation on a
        tensor (what the Autograd graph lesson draws)."""
        return self.fn({**env, _TRACE: trace} if trace else env)


_TRACE = "\0trace"  # the env key of the trace callback (no variable can be called this)


@dataclass(frozen=True)
class _Node:
    fn: Callable  # env -> tensor or number
    const: float | None  # the value when the subtree uses no variable (checked at compile time)
    code: ast.expr  # the torch-code twin of this subtree, for display


@dataclass(frozen=True)
class _Scope:
    variables: tuple[str, ...]
    functions: dict


def _traced(env: dict, op: str, result, *operands):
    trace = env.get(_TRACE)
    if trace is not None and isinstance(result, torch.Tensor):
        trace(op, result, operands)
    return result


def compile_formula(text: str, variables: tuple[str, ...] = VARIABLES,
                    functions: dict[str, tuple[Callable, Callable]] | None = None) -> Formula:
    """Check `text` against the whitelist and compile it; raise InputError with a message for the learner.
    `variables` are the names it may use; `functions` adds to the whitelist of FUNCTIONS.

    Example: compile_formula("x^2 + 3*y^2").code -> "x ** 2 + 3 * y ** 2"
    """
    source = (text or "").strip()
    names = " and ".join(", ".join(variables).rsplit(", ", 1))
    if not source:
        raise InputError(f"Type a formula in {names}, e.g. `{variables[0]}**2 + 3*{variables[-1]}**2`.")
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
    scope = _Scope(tuple(variables), {**FUNCTIONS, **(functions or {})})
    node = _compile(tree.body, 0, scope)
    if node.const is not None:
        raise InputError("The formula uses neither x nor y, so there is nothing to optimise."
                         if tuple(variables) == VARIABLES else f"The formula uses none of {names}.")
    return Formula(text=text, code=ast.unparse(node.code), fn=node.fn, variables=tuple(variables))


_SYMBOLS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**", ast.USub: "-", ast.UAdd: "+"}


def _compile(node: ast.AST, depth: int, scope: _Scope) -> _Node:
    if depth > MAX_DEPTH:
        raise InputError(f"The formula is nested too deeply (more than {MAX_DEPTH} levels).")
    if isinstance(node, ast.Constant):
        return _constant(node)
    if isinstance(node, ast.Name):
        return _name(node, scope)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _binary(node, depth, scope)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        inner = _compile(node.operand, depth + 1, scope)
        op = _UNARY[type(node.op)]
        arg, symbol = inner.fn, _SYMBOLS[type(node.op)]
        return _Node(lambda v: _traced(v, symbol, op(a := arg(v)), a), _fold(op, inner.const),
                     ast.UnaryOp(node.op, inner.code))
    if isinstance(node, ast.Call):
        return _call(node, depth, scope)
    raise InputError(_refusal(node, scope))


def _constant(node: ast.Constant) -> _Node:
    value = node.value
    if isinstance(value, bool) or not isinstance(value, int | float):
        kind = "Text in quotes" if isinstance(value, str | bytes) else f"The value {value!r}"
        raise InputError(f"{kind} is not allowed: a formula holds only {_ALLOWED}.")
    if not abs(value) < MAX_CONSTANT:
        raise InputError(f"The number {value:.3g} is too large for this lab (at most {MAX_CONSTANT:.3g}).")
    number = float(value)  # Python floats only: integer arithmetic could grow without bound (9**9**9)
    return _Node(lambda v: number, number, ast.Constant(value))


def _name(node: ast.Name, scope: _Scope) -> _Node:
    if node.id in scope.variables:
        name = node.id
        return _Node(lambda v: v[name], None, ast.Name(name))
    if node.id in CONSTANTS:
        number = CONSTANTS[node.id]
        return _Node(lambda v: number, number, ast.Attribute(ast.Name("math"), node.id))
    if node.id in scope.functions:
        raise InputError(f"`{node.id}` is a function: call it with brackets, e.g. `{node.id}({scope.variables[0]})`.")
    raise InputError(f"Unknown name `{node.id[:30]}`. A formula may use {_allowed(scope)}.")


def _binary(node: ast.BinOp, depth: int, scope: _Scope) -> _Node:
    left, right = _compile(node.left, depth + 1, scope), _compile(node.right, depth + 1, scope)
    op = _BINARY[type(node.op)]
    if isinstance(node.op, ast.Pow) and right.const is not None and abs(right.const) > MAX_EXPONENT:
        raise InputError(f"The exponent {right.const:.3g} is too large (at most {MAX_EXPONENT} here).")
    const = None
    if left.const is not None and right.const is not None:
        const = _fold(op, left.const, right.const)
    lf, rf, symbol = left.fn, right.fn, _SYMBOLS[type(node.op)]
    return _Node(lambda v: _traced(v, symbol, op(a := lf(v), b := rf(v)), a, b), const,
                 ast.BinOp(left.code, node.op, right.code))


def _call(node: ast.Call, depth: int, scope: _Scope) -> _Node:
    if not isinstance(node.func, ast.Name):
        raise InputError(_refusal(node.func, scope) if not isinstance(node.func, ast.Attribute)
                         else "Attribute access (a `.` after a name) is not allowed in a formula.")
    name = node.func.id
    if name not in scope.functions:
        raise InputError(f"`{name[:30]}` is not an allowed function. Allowed: {', '.join(scope.functions)}.")
    if node.keywords or len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
        raise InputError(f"`{name}()` takes exactly one plain argument, e.g. `{name}({scope.variables[0]})`.")
    inner = _compile(node.args[0], depth + 1, scope)
    tensor_fn, number_fn = scope.functions[name]
    arg = inner.fn
    if inner.const is not None:  # a plain number: use math, as torch functions take tensors
        value = _fold(number_fn, inner.const, name=name)
        code = ast.Call(ast.Name("abs") if name == "abs" else ast.Attribute(ast.Name("math"), name), [inner.code], [])
        return _Node(lambda v: number_fn(arg(v)), value, code)
    return _Node(lambda v: _traced(v, name, tensor_fn(a := arg(v)), a), None,
                 ast.Call(ast.Attribute(ast.Name("torch"), name), [inner.code], []))


def _allowed(scope: _Scope) -> str:
    if scope.variables == VARIABLES and scope.functions == FUNCTIONS:
        return _ALLOWED
    return (f"numbers, {', '.join(scope.variables)}, pi, e, `+ - * / **` (or `^`), parentheses and "
            + ", ".join(scope.functions))


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


def _refusal(node: ast.AST, scope: _Scope | None = None) -> str:
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
        return f"The operator in `{ast.unparse(node)[:30]}` is not allowed. A formula may use {(_allowed(scope) if scope else _ALLOWED)}."
    if isinstance(node, ast.Tuple | ast.List | ast.Set | ast.Dict | ast.ListComp | ast.SetComp | ast.DictComp
                  | ast.GeneratorExp):
        return "Tuples, lists, sets, dicts and comprehensions are not allowed: a formula computes one number."
    return f"`{type(node).__name__}` is not allowed in a formula. A formula may use {(_allowed(scope) if scope else _ALLOWED)}."
