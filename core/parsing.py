"""Safe parsing of what learners type: shapes, number lists and small tensors. Nothing is ever eval'd.

Every function raises `InputError` (a ValueError) with a message written for the learner.
"""

import math
import re

MAX_ELEMENTS = 1_000_000  # tensors learners ask for stay small enough to draw and to compute instantly
MAX_DIMS = 8
MAX_DEPTH = 8


class InputError(ValueError):
    """Bad user input; str(error) is a message to show as is."""


def quoted(text: str, limit: int = 40) -> str:
    """The learner's own text inside a message, as a code span: shown literally, even where messages are Markdown
    (a typed or linked `[text](address)` never becomes a link). Example: quoted("2,a") -> "`2,a`" """
    return "`" + str(text)[:limit].replace("`", "'") + "`"


_SHAPE_SEP = re.compile(r"[,\sx×*]+")


def parse_shape(text: str, *, max_elements: int = MAX_ELEMENTS, max_dims: int = MAX_DIMS,
                allow_zero: bool = False, allow_scalar: bool = False,
                allow_infer: bool = False) -> tuple[int, ...]:
    """Read a shape such as '4,32,14,14', '(4, 32, 14, 14)', '[3 1]' or '4x3'.

    With `allow_infer`, one size may be -1 (as in `view(2, -1)`: torch infers it).
    Example: parse_shape("(4, 32, 14, 14)") -> (4, 32, 14, 14)
    """
    body = (text or "").strip()
    if body[:1] in "([" and body[-1:] in ")]":
        body = body[1:-1].strip()
    parts = [p for p in _SHAPE_SEP.split(body) if p]  # "x" or "*" alone: separators, no sizes
    if not parts:
        if allow_scalar:
            return ()
        raise InputError("Type a shape: whole numbers separated by commas, e.g. 4,32,14,14.")
    dims = []
    for part in parts:
        if not re.fullmatch(r"[+-]?\d{1,9}", part):
            raise InputError(f"{quoted(part)} is not a size: a shape is whole numbers separated by commas, e.g. 4,32,14,14.")
        dims.append(int(part))
    if len(dims) > max_dims:
        raise InputError(f"{len(dims)} dimensions is more than this lesson draws (at most {max_dims}).")
    if allow_infer and dims.count(-1) > 1:
        raise InputError("Only one size can be -1 (the one torch infers from the others).")
    for i, d in enumerate(dims):
        if d == -1 and allow_infer:
            continue
        if d < 0:
            hint = " (only -1 is allowed, meaning 'infer this size')" if allow_infer else ""
            raise InputError(f"Dimension {i} has size {d}: sizes cannot be negative{hint}.")
        if d == 0 and not allow_zero:
            raise InputError(f"Dimension {i} has size 0: this lesson needs sizes of at least 1.")
    numel = math.prod(d for d in dims if d != -1)
    if numel > max_elements:
        raise InputError(f"Shape {tuple(dims)} has {numel:,} elements; this lesson allows at most {max_elements:,}.")
    return tuple(dims)


_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:inf|nan)", re.IGNORECASE)


def parse_number(text: str) -> float:
    """One number; 'inf' and 'nan' are allowed because learners try them on purpose."""
    token = (text or "").strip()
    if not _NUMBER.fullmatch(token):
        raise InputError(f"{quoted(token)} is not a number.")
    return float(token)


def parse_numbers(text: str, *, max_len: int = 10_000, min_len: int = 1) -> list[float]:
    """A flat list: '1, 2.5, -3' or '1 2.5 -3' or '[1, 2.5, -3]'.

    Example: parse_numbers("[1, 2.5, -3]") -> [1.0, 2.5, -3.0]
    """
    body = (text or "").strip()
    if body[:1] in "([" and body[-1:] in ")]":
        body = body[1:-1]
    tokens = [t for t in re.split(r"[,\s;]+", body) if t]
    if len(tokens) < min_len:
        raise InputError(f"Type at least {min_len} number{'s' if min_len > 1 else ''}, separated by commas.")
    if len(tokens) > max_len:
        raise InputError(f"{len(tokens):,} numbers is more than this lesson allows ({max_len:,}).")
    return [parse_number(t) for t in tokens]


def parse_tensor(text: str, *, max_elements: int = 10_000, integer: bool = False) -> list:
    """A nested list of numbers with a rectangular shape, written like Python: '[[1, 2], [3, 4]]'.

    Rows may also be separated by ';' or new lines: '1 2; 3 4'. Returns nested Python lists (or a number).
    Example: parse_tensor("1 2; 3 4") -> [[1.0, 2.0], [3.0, 4.0]]
    """
    body = (text or "").strip()
    if not body:
        raise InputError("Type a tensor, e.g. [[1, 2], [3, 4]].")
    if len(body) > 20 * max_elements + 100:
        raise InputError("That tensor is too large for this lesson.")
    if "[" not in body:
        rows = [r for r in re.split(r"[;\n]+", body) if r.strip()]
        value = [parse_numbers(r) for r in rows] if len(rows) > 1 else parse_numbers(rows[0])
    else:
        value, pos = _parse_nested(body, 0, 0)
        if body[pos:].strip():
            raise InputError(f"Unexpected text after the tensor: {quoted(body[pos:].strip(), 20)}.")
    shape = _rect_shape(value)
    if math.prod(shape) > max_elements:
        raise InputError(f"That tensor has {math.prod(shape):,} elements; this lesson allows at most {max_elements:,}.")
    if integer:
        value = _to_int(value)
    return value


def _parse_nested(s: str, pos: int, depth: int):
    while pos < len(s) and s[pos].isspace():
        pos += 1
    if pos >= len(s):
        raise InputError("The tensor ends too early: is a ']' missing?")
    if s[pos] != "[":
        m = _NUMBER.match(s, pos)
        if not m:
            raise InputError(f"Expected a number or `[` at {quoted(s[pos:pos + 12])}.")
        return float(m.group()), m.end()
    if depth >= MAX_DEPTH:
        raise InputError(f"Tensors here have at most {MAX_DEPTH} dimensions.")
    items, pos = [], pos + 1
    while True:
        while pos < len(s) and s[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(s):
            raise InputError("A '[' is never closed: add the missing ']'.")
        if s[pos] == "]":
            return items, pos + 1
        item, pos = _parse_nested(s, pos, depth + 1)
        items.append(item)


def _rect_shape(value) -> tuple[int, ...]:
    if not isinstance(value, list):
        return ()
    if not value:
        raise InputError("Empty brackets: every row needs at least one number.")
    shapes = {_rect_shape(v) for v in value}
    if len(shapes) != 1:
        raise InputError("Rows have different lengths: a tensor must be rectangular, e.g. [[1, 2], [3, 4]].")
    return (len(value), *shapes.pop())


def _to_int(value):
    if isinstance(value, list):
        return [_to_int(v) for v in value]
    if not math.isfinite(value) or value != int(value):
        raise InputError(f"{value:g} is not a whole number; this tensor holds indices.")
    if abs(value) >= 2**53:  # torch would overflow; no tensor here is anywhere near that large
        raise InputError(f"{value:.3g} is too large to be an index.")
    return int(value)


def parse_ints(text: str, *, max_len: int = 10_000, min_len: int = 1) -> list[int]:
    """A flat list of whole numbers, e.g. indices: '0, 2, -1' or '[0 2 -1]'.

    Example: parse_ints("[0, 2, -1]") -> [0, 2, -1]
    """
    values = parse_numbers(text, max_len=max_len, min_len=min_len)
    return _to_int(values)


_INT = r"[+-]?\d{1,9}"
_SLICE = re.compile(rf"\s*({_INT})?\s*:\s*({_INT})?\s*(?::\s*({_INT})?\s*)?")


def parse_index(text: str, *, max_items: int = MAX_DIMS) -> tuple:
    """What goes between the brackets of `x[...]`: whole numbers, start:end:step slices, '...' and None.

    Returns the Python objects to index with (int, slice, Ellipsis, None).
    Example: parse_index("1:3, ::2") -> (slice(1, 3, None), slice(None, None, 2))
    """
    body = (text or "").strip()
    if body[:1] == "[" and body[-1:] == "]":
        body = body[1:-1].strip()
    if not body:
        raise InputError("Type an index such as '1:3, ::2', '0', '..., -1' or ':, None'.")
    parts = [p.strip() for p in body.split(",")]
    if parts[-1] == "" and len(parts) > 1:  # a trailing comma, as in x[0,]
        parts.pop()
    if len(parts) > max_items:
        raise InputError(f"{len(parts)} index items is more than this lesson allows ({max_items}).")
    items: list = []
    for part in parts:
        if part in ("...", "\u2026"):
            if Ellipsis in items:
                raise InputError("'...' may appear only once in an index.")
            items.append(Ellipsis)
        elif part == "None":
            items.append(None)
        elif re.fullmatch(_INT, part):
            items.append(int(part))
        elif (m := _SLICE.fullmatch(part)) and ":" in part:
            start, stop, step = (int(g) if g is not None else None for g in m.groups())
            if step is not None and step <= 0:
                raise InputError(f"In {quoted(part)} the step is {step}: PyTorch slices need a step of at least 1 "
                                 "(no negative steps; use torch.flip to reverse).")
            items.append(slice(start, stop, step))
        else:
            raise InputError(f"{quoted(part, 20)} is not an index item: use whole numbers, start:end:step, '...' or None.")
    return tuple(items)


_TOKEN = re.compile(r"\s*(\[|\]|,|;|true|false|" + _NUMBER.pattern + r")", re.IGNORECASE)
_WHOLE = re.compile(r"[+-]?\d+")


def parse_literal(text: str, *, max_elements: int = 64):
    """Numbers as Python would read them, keeping their type, for what `torch.tensor` infers from them:
    `2` is an int, `2.0`, `1e3` and `inf` are floats, `True`/`False` are bools. Brackets nest like Python lists;
    without brackets, commas or spaces separate numbers and `;` separates rows. One number alone is a scalar.

    Example: parse_literal("1, 2.5; True, 4") -> [[1, 2.5], [True, 4]]
    """
    body = (text or "").strip()
    if not body:
        raise InputError("Type some numbers, e.g. 1, 2, 3 or [[1.5, 2], [3, 4]].")
    if len(body) > 40 * max_elements + 100:
        raise InputError("That is too long for this lesson.")
    tokens, pos = [], 0
    while pos < len(body):
        m = _TOKEN.match(body, pos)
        if not m:
            if body[pos:].strip() == "":
                break
            raise InputError(f"{quoted(body[pos:].strip(), 12)} is not a number: type numbers such as 3, -2.5, "
                             "1e3, True or False.")
        tokens.append(m.group(1))
        pos = m.end()
    if "[" not in tokens:
        rows = [[t for t in row if t != ","] for row in _split(tokens, ";")]
        rows = [row for row in rows if row]
        if not rows:
            raise InputError("Type some numbers, e.g. 1, 2, 3.")
        flat = len(rows) == 1
        value = [_literal(t) for t in rows[0]] if flat else [[_literal(t) for t in row] for row in rows]
        if flat and len(value) == 1 and "," not in tokens:
            value = value[0]  # one number: a scalar (0-d tensor)
    else:
        if ";" in tokens:
            raise InputError("Inside brackets, separate rows with commas: [[1, 2], [3, 4]].")
        value, i = _nested_literal(tokens, 0, 0)
        if i != len(tokens):
            raise InputError("Unexpected text after the closing bracket.")
    shape = _rect_shape(value)
    if math.prod(shape) > max_elements:
        raise InputError(f"That has {math.prod(shape):,} numbers; this lesson allows at most {max_elements}.")
    return value


def _split(tokens: list[str], sep: str) -> list[list[str]]:
    rows = [[]]
    for t in tokens:
        if t == sep:
            rows.append([])
        else:
            rows[-1].append(t)
    return rows


def _literal(token: str):
    if token in "[],;":
        raise InputError(f"Expected a number where {quoted(token)} is.")
    low = token.lower()
    if low in ("true", "false"):
        return low == "true"
    if _WHOLE.fullmatch(token):
        value = int(token)
        if abs(value) >= 2**63:
            raise InputError(f"{quoted(token, 24)} does not fit in 64 bits, the largest integer type.")
        return value
    return float(token)


def _nested_literal(tokens: list[str], i: int, depth: int):
    if i >= len(tokens):
        raise InputError("The list ends too early: is a ']' missing?")
    if tokens[i] != "[":
        return _literal(tokens[i]), i + 1
    if depth >= MAX_DEPTH:
        raise InputError(f"Tensors here have at most {MAX_DEPTH} dimensions.")
    items, i = [], i + 1
    while True:
        while i < len(tokens) and tokens[i] == ",":
            i += 1
        if i >= len(tokens):
            raise InputError("A '[' is never closed: add the missing ']'.")
        if tokens[i] == "]":
            return items, i + 1
        item, i = _nested_literal(tokens, i, depth + 1)
        items.append(item)
