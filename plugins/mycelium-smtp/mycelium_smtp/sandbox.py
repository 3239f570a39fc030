"""The template sandbox: Jinja2's immutable sandbox, with bounds on what a template costs.

An organization's template is code the hub runs, in a web request (a preview, a queued
email) or in a worker (a notification). Jinja2's sandbox stops it reaching what it must
not, but not from burning the CPU or the memory: ``{{ 9 ** 9 ** 8 }}`` is a single C call
of minutes that holds the GIL, ``{% for %}`` loops nest, ``'x' * n`` and ``s|center(n)``
allocate what they are told. So every render runs under a budget (``Limits``):

- integer arithmetic: ``**`` and ``*`` are refused, before they run, past ``int_bits``;
- every value an operator (``*``, ``+``, ``%``, ``~``), a call (a string method, ``range``)
  or a filter makes: refused before it is made when it would be over ``value_size``
  characters or items, and all of them together, with everything output, count against
  ``allocation``;
- loops: ``loop_iterations`` iterations in all (``range`` longer than that is refused);
- output: ``value_size`` characters per rendered part;
- time: ``render_seconds``, checked at every iteration, call, operator, filter and output.

Past any of them rendering stops with ``TemplateLimitError`` naming the part and the limit.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Template, nodes
from jinja2.compiler import CodeGenerator, Frame, optimizeconst
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context, LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment

from mycelium_smtp import sizes
from mycelium_smtp.sandbox_filters import bounded_filters
from mycelium_smtp.sizes import TooLarge


class TemplateLimitError(SecurityError):
    """A template went past a limit of the sandbox; ``part`` names the part rendered."""

    def __init__(self, message: str, part: str | None = None) -> None:
        super().__init__(message)
        self.part = part


@dataclass(frozen=True)
class Limits:
    render_seconds: float = 2.0
    loop_iterations: int = 100_000
    value_size: int = 1_000_000
    allocation: int = 5_000_000
    int_bits: int = 4096


@dataclass
class Budget:
    """What one email's rendering may still spend."""

    limits: Limits
    deadline: float = 0.0
    iterations: int = 0
    allocated: int = 0
    started: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.deadline = self.started + self.limits.render_seconds

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise TemplateLimitError(f"rendering took longer than {self.limits.render_seconds:g} s")

    def iterate(self) -> None:
        self.iterations += 1
        if self.iterations > self.limits.loop_iterations:
            raise TemplateLimitError(f"more than {self.limits.loop_iterations} loop iterations")
        self.check_time()

    def check_size(self, size: int, what: str = "a value") -> None:
        if size > self.limits.value_size:
            raise TemplateLimitError(
                f"{what} would be longer than {self.limits.value_size} characters or items"
            )

    def spend(self, size: int) -> None:
        self.allocated += size
        if self.allocated > self.limits.allocation:
            raise TemplateLimitError(
                f"the template made more than {self.limits.allocation} characters or items "
                "of values and output"
            )
        self.check_time()

    def check(self, estimate: Any, what: str = "a value") -> None:
        """Run an estimate from ``sizes``; a refusal or an oversize is a limit error."""
        try:
            size = estimate()
        except TooLarge as exc:
            raise TemplateLimitError(str(exc)) from None
        self.check_size(size, what)


_BUDGET: ContextVar[Budget | None] = ContextVar("smtp_template_budget", default=None)


def current_budget() -> Budget:
    budget = _BUDGET.get()
    if budget is None:
        raise RuntimeError("templates render only inside sandbox.limited(...)")
    return budget


@contextmanager
def limited(limits: Limits) -> Iterator[Budget]:
    """Renders inside this block share one budget (one email: its parts and layout)."""
    token = _BUDGET.set(Budget(limits))
    try:
        yield current_budget()
    finally:
        _BUDGET.reset(token)


class _BoundedCode(CodeGenerator):
    """Compiles loops, ``~`` and output so that the budget sees each iteration and piece."""

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        node.iter = nodes.Call(
            nodes.EnvironmentAttribute("bounded_loop"), [node.iter], [], None, None
        ).set_lineno(node.lineno)
        node.iter.set_environment(self.environment)
        super().visit_For(node, frame)

    @optimizeconst
    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        # Jinja2's own, with the pieces measured before they are joined
        if frame.eval_ctx.volatile:
            func_name = "(markup_join if context.eval_ctx.volatile else str_join)"
        elif frame.eval_ctx.autoescape:
            func_name = "markup_join"
        else:
            func_name = "str_join"
        self.write(f"{func_name}(environment.bounded_pieces((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write(")))")

    def _output_const_repr(self, group: Iterable[Any]) -> str:
        return f"environment.bounded_output({super()._output_const_repr(group)})"

    def _output_child_pre(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        self.write("environment.bounded_output(")
        super()._output_child_pre(node, frame, finalize)

    def _output_child_post(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        super()._output_child_post(node, frame, finalize)
        self.write(")")


class LimitedSandbox(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox (lists and dicts cannot be changed) under a Budget."""

    code_generator_class = _BoundedCode
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals["range"] = self.bounded_range
        self.globals.pop("lipsum", None)  # makes as much text as it is asked for
        self.filters = bounded_filters(self.filters, current_budget)

    def bounded_range(self, *args: int) -> range:
        found = range(*args)
        if len(found) > current_budget().limits.loop_iterations:
            raise TemplateLimitError(f"a range of {len(found)} numbers is too long")
        current_budget().spend(len(found))
        return found

    def bounded_loop(self, iterable: Iterable[Any]) -> Iterator[Any]:
        budget = current_budget()
        for item in iterable:
            budget.iterate()
            yield item

    def bounded_pieces(self, pieces: tuple[Any, ...]) -> tuple[Any, ...]:
        budget = current_budget()
        size = sum(sizes.text_size(piece) for piece in pieces)  # each becomes text
        budget.check_size(size, "a ~ concatenation")
        budget.spend(size)
        return pieces

    def bounded_output(self, piece: str) -> str:
        current_budget().spend(len(piece))
        return piece

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        budget = current_budget()
        bits = sizes.integer_bits(operator, left, right)
        if bits > budget.limits.int_bits:
            raise TemplateLimitError(
                f"{operator} would make an integer of more than {budget.limits.int_bits} bits"
            )
        budget.check(lambda: sizes.binop_size(operator, left, right), f"the result of {operator}")
        result = super().call_binop(context, operator, left, right)
        budget.spend(sizes.size_of(result))
        return result

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        budget = current_budget()
        budget.check_time()
        if isinstance(__obj, LoopContext) and args:  # a recursive loop's next level
            args = (__self.bounded_loop(args[0]), *args[1:])
        args = _checked_call(budget, __obj, args, kwargs)
        result = super().call(__context, __obj, *args, **kwargs)
        budget.spend(sizes.size_of(result))
        return result


def _checked_call(
    budget: Budget, obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, ...]:
    """Refuse a call of a str or bytes method (or an int's) that would make too much."""
    target = getattr(obj, "__wrapped__", obj)  # the sandbox wraps str.format
    owner, name = getattr(target, "__self__", None), getattr(target, "__name__", "")
    if not isinstance(owner, str | bytes | int | float):
        return args
    limit = budget.limits.value_size
    for value in (*args, *kwargs.values()):
        budget.check(lambda v=value: sizes.check_int(v, limit, "an argument"))
    if isinstance(owner, str | bytes) and name == "join" and args:
        items = list(args[0])
        budget.check(lambda: sizes.join_size(items, owner), f"the result of {name}()")
        return (items, *args[1:])
    estimate = sizes.STRING_METHODS.get(name)
    if isinstance(owner, str | bytes) and estimate is not None:
        budget.check(lambda: estimate(owner, args, kwargs, limit), f"the result of {name}()")
    return args


def render_part(template: Template, values: dict[str, Any], part: str) -> str:
    """`template` rendered under the current budget; its output at most `value_size`."""
    budget = current_budget()
    pieces: list[str] = []
    size = 0
    try:
        for piece in template.generate(values):
            size += len(piece)
            budget.check_size(size, "the rendered text")
            pieces.append(piece)
    except TemplateLimitError as exc:
        exc.part = exc.part or part
        raise
    except RecursionError:
        raise TemplateLimitError("macros or loops call themselves too deeply", part) from None
    return "".join(pieces)


def render_counted(template: Template, values: dict[str, Any], part: str) -> str:
    """A template shipped with the plugin (trusted: it runs outside the sandbox, several
    times faster) rendered within the budget: its output is counted as `render_part`
    counts it, with the same limits, checked once for the whole text."""
    budget = current_budget()
    text = template.render(values)
    try:
        budget.spend(len(text))
        budget.check_size(len(text), "the rendered text")
    except TemplateLimitError as exc:
        exc.part = exc.part or part
        raise
    return text


def limits_of(setting: Any) -> Limits:
    """The limits, with the render time from ``SMTP_TEMPLATE_RENDER_SECONDS``."""
    seconds = setting("SMTP_TEMPLATE_RENDER_SECONDS")
    return Limits(render_seconds=float(seconds)) if seconds not in (None, "") else Limits()
