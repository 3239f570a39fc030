"""Jinja2's filters under the sandbox's budget.

Every filter's result counts against the render's allocation and its time; the filters
that can make much more than they are given (``center``, ``indent``, ``replace``,
``format``, ``join``, ``wordwrap``, ``batch``, ``slice``, ``sum`` of lists) are checked
before they run. The original filters do the work, so their behaviour is Jinja2's own.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from jinja2.utils import _PassArg

from mycelium_smtp import sizes

Check = Callable[[Any, str, Sequence[Any], dict[str, Any]], tuple[Sequence[Any], dict[str, Any]]]


def _arg(
    args: Sequence[Any], kwargs: Mapping[str, Any], index: int, name: str, default: Any
) -> Any:
    """A filter's argument by position (after the value) or by name."""
    return args[index] if len(args) > index else kwargs.get(name, default)


def _center(budget: Any, what: str, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    width = _arg(args, kwargs, 1, "width", 80)
    budget.check(
        lambda: max(len(str(args[0])), sizes.check_int(width, budget.limits.value_size, "width")),
        what,
    )
    return args, kwargs


def _indent(budget: Any, what: str, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    width = _arg(args, kwargs, 1, "width", 4)
    text = str(args[0])
    step = width if isinstance(width, int) else len(str(width))
    budget.check(
        lambda: (
            len(text)
            + (text.count("\n") + 1) * sizes.check_int(step, budget.limits.value_size, "width")
        ),
        what,
    )
    return args, kwargs


def _replace(budget: Any, what: str, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    old, new = _arg(args, kwargs, 1, "old", ""), _arg(args, kwargs, 2, "new", "")
    budget.check(lambda: sizes.replace_size(args[0], old, new), what)
    return args, kwargs


def _format(budget: Any, what: str, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    values = kwargs or tuple(args[1:])
    budget.check(lambda: sizes.percent_size(str(args[0]), values), what)
    return args, kwargs


def _join(budget: Any, what: str, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    items = list(args[0])
    budget.check(lambda: sizes.join_size(items, _arg(args, kwargs, 1, "d", "")), what)
    return (items, *args[1:]), kwargs


def _wordwrap(budget: Any, what: str, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    width = max(int(_arg(args, kwargs, 1, "width", 79)), 1)
    wrap = _arg(args, kwargs, 3, "wrapstring", None) or "\n"
    text = str(args[0])
    budget.check(lambda: len(text) + (len(text) // width + 1) * len(str(wrap)), what)
    return args, kwargs


def _counted_argument(index: int, name: str) -> Check:
    """A filter whose argument (`batch`'s line count, `slice`'s slices) sets its work."""

    def check(budget: Any, what: str, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
        count = _arg(args, kwargs, index, name, 0)
        budget.check(lambda: sizes.check_int(count, budget.limits.loop_iterations, name), what)
        return args, kwargs

    return check


def _sum(budget: Any, what: str, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    start = _arg(args, kwargs, 2, "start", 0)
    if not isinstance(start, int | float):  # adding lists or strings grows quadratically
        budget.check(lambda: sizes.refuse("sum() adds numbers only"), what)
    return args, kwargs


CHECKS: dict[str, Check] = {
    "center": _center,
    "indent": _indent,
    "replace": _replace,
    "format": _format,
    "join": _join,
    "wordwrap": _wordwrap,
    "batch": _counted_argument(1, "linecount"),
    "slice": _counted_argument(1, "slices"),
    "sum": _sum,
}


def _bounded(
    name: str, original: Callable[..., Any], budget_of: Callable[[], Any]
) -> Callable[..., Any]:
    passed = 1 if _PassArg.from_obj(original) is not None else 0  # the env or eval context
    check = CHECKS.get(name)

    @functools.wraps(original)  # keeps the pass-argument marker Jinja2 reads
    def bounded(*args: Any, **kwargs: Any) -> Any:
        budget = budget_of()
        budget.check_time()
        if check is not None and len(args) > passed:
            given, kwargs = check(budget, f"the result of |{name}", args[passed:], kwargs)
            args = (*args[:passed], *given)
        result = original(*args, **kwargs)
        budget.spend(sizes.size_of(result))
        return result

    return bounded


def bounded_filters(
    filters: Mapping[str, Callable[..., Any]], budget_of: Callable[[], Any]
) -> dict[str, Callable[..., Any]]:
    """Every filter of `filters`, checked and counted against ``budget_of()``."""
    return {name: _bounded(name, f, budget_of) for name, f in filters.items()}
