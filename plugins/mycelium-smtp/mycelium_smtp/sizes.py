"""How large a value a template operation would make, worked out before it runs.

The template sandbox asks these before an operator, a string method or a filter that can
make its result much larger than its operands (``'x' * n``, ``9 ** 9 ** 8``,
``s.center(n)``, ``s|replace(a, b)``, ``'%9999999d' % 1``): refusing afterwards would be
too late, since the work and the memory are spent by then. Each answers the size of the
result in characters (or items, or bits for integers) or raises ``TooLarge``.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn

Sized = str | bytes | list | tuple | dict | set | frozenset
# A %-directive: its width and precision, which are what can blow up the result.
_PERCENT = re.compile(r"%(?:\([^)]*\))?[#0 +\-]*(\*|\d*)(?:\.(\*|\d*))?[hlL]?[a-zA-Z%]")
_DIGITS = re.compile(r"\d+")


class TooLarge(Exception):
    """The operation's result would be over a limit."""


def size_of(value: Any) -> int:
    """What a value costs: its length when it has one, else nothing."""
    return len(value) if isinstance(value, Sized) else 0


def _text(value: Any) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def text_size(value: Any) -> int:
    """About how long ``str(value)`` is, without building it for a container."""
    if isinstance(value, str | bytes):
        return len(value)
    if isinstance(value, Sized):
        return 2 + 32 * len(value)
    return len(str(value))  # a number (integers are kept small), a date, None


def refuse(message: str) -> NoReturn:
    raise TooLarge(message)


def check_int(value: Any, limit: int, what: str) -> int:
    """`value` if it is an integer within +-`limit` (0 if it is no integer)."""
    if isinstance(value, int) and abs(value) > limit:
        raise TooLarge(f"{what} {value} is over {limit}")
    return int(value) if isinstance(value, int) else 0


def integer_bits(operator: str, left: Any, right: Any) -> int:
    """Bits of the integer result of ``left ** right`` or ``left * right`` (0: no integer)."""
    if not (isinstance(left, int) and isinstance(right, int)):
        return 0
    if operator == "**":
        return 0 if right <= 0 or abs(left) <= 1 else left.bit_length() * right
    return left.bit_length() + right.bit_length()


def binop_size(operator: str, left: Any, right: Any) -> int:
    """Characters or items of a sequence result of ``*``, ``+`` or ``%`` (0: not one)."""
    if operator == "*":
        for seq, times in ((left, right), (right, left)):
            if isinstance(seq, Sized) and isinstance(times, int):
                return len(seq) * max(times, 0)
        return 0
    if operator == "+":
        return size_of(left) + size_of(right)
    if operator == "%" and isinstance(left, str | bytes):
        return percent_size(left, right)
    return 0


def percent_size(template: str | bytes, values: Any) -> int:
    """An upper bound of ``template % values`` (star widths are refused)."""
    text = _text(template)
    widest = 0
    found = _PERCENT.findall(text)
    for width, precision in found:
        if "*" in (width, precision):
            raise TooLarge("a width or precision given as * is not allowed")
        widest = max(widest, int(width or 0), int(precision or 0))
    pieces = values.values() if isinstance(values, Mapping) else values
    pieces = pieces if isinstance(pieces, tuple | list) else [values]
    longest = max((text_size(p) for p in pieces), default=0)
    return len(text) + len(found) * (widest + longest)


def format_size(template: str, args: Sequence[Any], kwargs: Mapping[str, Any], limit: int) -> int:
    """An upper bound of ``template.format(*args, **kwargs)``."""
    fields, widest = 0, 0
    for _, name, spec, _ in string.Formatter().parse(template):
        if name is None:
            continue
        fields += 1
        if "{" in (spec or ""):
            raise TooLarge("a format width given by another field is not allowed")
        widest = max([widest, *(int(d) for d in _DIGITS.findall(spec or ""))])
    check_int(widest, limit, "format width")
    longest = max((text_size(v) for v in [*args, *kwargs.values()]), default=0)
    return len(template) + fields * (widest + longest)


def replace_size(text: Any, old: Any, new: Any) -> int:
    """The length of ``text.replace(old, new)`` (every occurrence replaced)."""
    value, old, new = _text(text), _text(old), _text(new)
    count = value.count(old) if old else len(value) + 1
    return len(value) + count * max(len(new) - len(old), 0)


def join_size(items: Sequence[Any], separator: Any) -> int:
    return sum(text_size(item) for item in items) + len(_text(separator)) * max(len(items) - 1, 0)


def _padded(owner: Any, args: Sequence[Any], kwargs: Mapping[str, Any], limit: int) -> int:
    width = args[0] if args else kwargs.get("width", 0)
    return max(len(owner), check_int(width, limit, "width"))


def _expanded(owner: Any, args: Sequence[Any], kwargs: Mapping[str, Any], limit: int) -> int:
    tabsize = args[0] if args else kwargs.get("tabsize", 8)
    return len(owner) * max(check_int(tabsize, limit, "tab size"), 1)


def _replaced(owner: Any, args: Sequence[Any], kwargs: Mapping[str, Any], limit: int) -> int:
    return replace_size(owner, args[0], args[1]) if len(args) >= 2 else len(owner)


def _translated(owner: Any, args: Sequence[Any], kwargs: Mapping[str, Any], limit: int) -> int:
    table = args[0] if args else None
    values = table.values() if isinstance(table, Mapping) else []
    return len(owner) * max([1, *(text_size(v) for v in values)])


def _formatted(owner: Any, args: Sequence[Any], kwargs: Mapping[str, Any], limit: int) -> int:
    return format_size(_text(owner), args, kwargs, limit)


def _format_mapped(owner: Any, args: Sequence[Any], kwargs: Mapping[str, Any], limit: int) -> int:
    mapping = args[0] if args and isinstance(args[0], Mapping) else {}
    return format_size(_text(owner), (), mapping, limit)


# str and bytes methods whose result can outgrow the string they are called on.
STRING_METHODS: dict[str, Callable[[Any, Sequence[Any], Mapping[str, Any], int], int]] = {
    "center": _padded,
    "ljust": _padded,
    "rjust": _padded,
    "zfill": _padded,
    "expandtabs": _expanded,
    "replace": _replaced,
    "translate": _translated,
    "format": _formatted,
    "format_map": _format_mapped,
}
