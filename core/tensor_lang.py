"""A small, safe tensor language for the Tensor puzzles: the learner's answer is one expression over the puzzle's
inputs, using broadcasting, indexing and a few functions, never Python's eval.

Allowed: numbers, True/False, the puzzle's names, `+ - * / // % ** @`, comparisons (`== != < <= > >=`, one at a
time), `& | ~` on booleans, indexing `a[...]` with integers, slices, `None`, `...` and index tensors, and the
functions `arange(n)` and `where(cond, x, y)`. Every intermediate tensor is size-checked, so an answer cannot
exhaust the server's memory.

    run("a[:, None] * b[None, :]", {"a": torch.arange(3), "b": torch.arange(4)}).shape   # (3, 4)
"""

import ast
import operator

import torch

from core.parsing import InputError

MAX_LENGTH = 300
MAX_NODES = 150
MAX_ELEMENTS = 1_000_000
FUNCTIONS = ("arange", "where")
_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow, ast.MatMult: operator.matmul,
           ast.BitAnd: operator.and_, ast.BitOr: operator.or_}
_COMPARE = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
            ast.Gt: operator.gt, ast.GtE: operator.ge}
ALLOWED = ("numbers, the puzzle's names, + - * / // % ** @, == != < <= > >=, & | ~, indexing a[...] with slices, "
           "None and index tensors, arange(n) and where(cond, x, y)")


def parse(text: str, names: tuple[str, ...]) -> ast.expr:
    """The answer's syntax tree, checked against the whitelist (InputError with the learner's words)."""
    source = (text or "").strip()
    if not source:
        raise InputError("Type an expression, e.g. `a[:, None] * b`.")
    if len(source) > MAX_LENGTH:
        raise InputError(f"At most {MAX_LENGTH} characters.")
    try:
        tree = ast.parse(source.replace("\n", " "), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise InputError("Could not read that expression: check the brackets and commas.") from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise InputError("That expression is too long.")
    for node in ast.walk(tree.body):
        _check(node, names)
    return tree.body


def _check(node: ast.AST, names: tuple[str, ...]) -> None:
    ok = (ast.Constant, ast.Name, ast.BinOp, ast.UnaryOp, ast.Compare, ast.Call, ast.Subscript, ast.Slice, ast.Tuple,
          ast.Load, ast.operator, ast.unaryop, ast.cmpop)
    if not isinstance(node, ok):
        raise InputError(f"`{type(node).__name__}` is not allowed. Allowed: {ALLOWED}.")
    if isinstance(node, ast.Constant) and not (node.value is None or node.value is Ellipsis
                                               or isinstance(node.value, bool | int | float)):
        raise InputError("Only numbers, True, False, None and ... are allowed as values.")
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not abs(node.value) < 2**53:
        raise InputError("Numbers here stay below 2**53.")
    if isinstance(node, ast.Name) and node.id not in names and node.id not in FUNCTIONS:
        raise InputError(f"Unknown name `{node.id[:20]}`: use {', '.join(names)}, arange or where.")
    if isinstance(node, ast.BinOp) and type(node.op) not in _BINARY:
        raise InputError(f"The operator in `{ast.unparse(node)[:30]}` is not allowed.")
    if isinstance(node, ast.UnaryOp) and not isinstance(node.op, ast.USub | ast.UAdd | ast.Invert):
        raise InputError("Use `~` for not.")
    if isinstance(node, ast.Compare) and (len(node.ops) != 1 or type(node.ops[0]) not in _COMPARE):
        raise InputError("One comparison at a time (`a < b`, not `a < b < c`); `in`/`is` are not allowed.")
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS or node.keywords:
            raise InputError("The functions are arange(n) and where(cond, x, y), without keywords.")
        if len(node.args) != {"arange": 1, "where": 3}[node.func.id]:
            raise InputError(f"{node.func.id} takes {'one argument' if node.func.id == 'arange' else 'three'}.")


def run(text: str, inputs: dict) -> torch.Tensor:
    """Evaluate the answer on these inputs (tensors and ints); InputError for what torch refuses."""
    tree = parse(text, tuple(inputs))
    try:
        value = _eval(tree, inputs)
        if value is None or value is Ellipsis:
            raise InputError("The answer must compute a tensor (None and ... only go inside [...]).")
        return value if isinstance(value, torch.Tensor) else torch.tensor(value)
    except InputError:
        raise
    except (RuntimeError, TypeError, IndexError, ValueError, ZeroDivisionError, OverflowError) as exc:
        raise InputError(f"torch: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None


def _shape(v) -> tuple[int, ...]:
    return tuple(v.shape) if isinstance(v, torch.Tensor) else ()


def _room(*operands, matmul: bool = False) -> None:
    """Refuse an operation whose result would be too large, before it allocates anything."""
    shapes = [_shape(v) for v in operands]
    try:
        if matmul:
            out = (torch.empty(shapes[0], device="meta") @ torch.empty(shapes[1], device="meta")).shape
        else:
            out = torch.broadcast_shapes(*shapes)
    except RuntimeError:
        return  # torch will refuse it with its own message
    if torch.Size(out).numel() > MAX_ELEMENTS:
        raise InputError(f"That would make a tensor of shape {tuple(out)} ({torch.Size(out).numel():,} elements); "
                         f"at most {MAX_ELEMENTS:,} here.")


def _sized(value):
    if isinstance(value, torch.Tensor) and value.numel() > MAX_ELEMENTS:
        raise InputError(f"An intermediate result has {value.numel():,} elements; at most {MAX_ELEMENTS:,} here.")
    return value


def _eval(node: ast.AST, env: dict):
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return env[node.id]
    if isinstance(node, ast.BinOp):
        left, right = _eval(node.left, env), _eval(node.right, env)
        if isinstance(node.op, ast.Pow) and not isinstance(right, torch.Tensor) and abs(right) > 64:
            raise InputError("Exponents above 64 are not allowed here.")
        if not isinstance(left, torch.Tensor) and not isinstance(right, torch.Tensor):
            left = torch.tensor(left)
        _room(left, right, matmul=isinstance(node.op, ast.MatMult))
        return _sized(_BINARY[type(node.op)](left, right))
    if isinstance(node, ast.UnaryOp):
        value = _eval(node.operand, env)
        if isinstance(node.op, ast.Invert):
            return ~value if isinstance(value, torch.Tensor) else torch.tensor(not value)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Compare):
        left, right = _eval(node.left, env), _eval(node.comparators[0], env)
        if not isinstance(left, torch.Tensor):
            left = torch.tensor(left)
        _room(left, right)
        return _sized(_COMPARE[type(node.ops[0])](left, right))
    if isinstance(node, ast.Call):
        args = [_eval(a, env) for a in node.args]
        if node.func.id == "arange":
            n = int(args[0].item()) if isinstance(args[0], torch.Tensor) and args[0].numel() == 1 else args[0]
            if not isinstance(n, int) or not 0 <= n <= MAX_ELEMENTS:
                raise InputError(f"arange takes a whole number from 0 to {MAX_ELEMENTS:,}.")
            return torch.arange(n)
        cond, x, y = args
        if not isinstance(cond, torch.Tensor) or cond.dtype != torch.bool:
            raise InputError("where's first argument must be a boolean tensor, e.g. `arange(n) > 2`.")
        _room(cond, x, y)
        return _sized(torch.where(cond, x, y))
    if isinstance(node, ast.Subscript):
        base = _eval(node.value, env)
        if not isinstance(base, torch.Tensor):
            raise InputError("Only tensors can be indexed.")
        index = _index(node.slice, env)
        tensors = [i for i in (index if isinstance(index, tuple) else (index,)) if isinstance(i, torch.Tensor)]
        if tensors:
            _room(*tensors)
            rest = base.numel() // max(base.shape[0], 1) if base.dim() else 1  # an index tensor takes a dim at least
            if torch.broadcast_shapes(*(t.shape for t in tensors)).numel() * rest > MAX_ELEMENTS:
                raise InputError("That indexing would make too large a tensor here.")
        return _sized(base[index])
    if isinstance(node, ast.Tuple):
        raise InputError("A tuple is only allowed inside [...].")
    raise InputError(f"`{type(node).__name__}` is not allowed.")


def _index(node: ast.AST, env: dict):
    if isinstance(node, ast.Tuple):
        return tuple(_index(e, env) for e in node.elts)
    if isinstance(node, ast.Slice):
        parts = [None if p is None else _eval(p, env) for p in (node.lower, node.upper, node.step)]
        parts = [int(p.item()) if isinstance(p, torch.Tensor) and p.numel() == 1 else p for p in parts]
        if any(p is not None and not isinstance(p, int) for p in parts):
            raise InputError("Slice bounds must be whole numbers.")
        if parts[2] is not None and parts[2] <= 0:
            raise InputError("Slices need a step of at least 1.")
        return slice(*parts)
    return _eval(node, env)
