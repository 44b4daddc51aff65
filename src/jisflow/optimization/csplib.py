"""Reader for the CSPLib prob001 car sequencing format.

One instance is a block of integer lines::

    #cars #options #classes
    p per option            (max cars with the option in a block)
    q per option            (the block size)
    class index, #cars, one 0/1 flag per option    (one line per class)

A file may hold one instance (the Gagné ``pb_*.txt`` files) or many (``data.txt``), where each
block is announced by a comment ``# Problem NAME`` and prose may stand between blocks. The nine
classic 100-car instances of ``data.txt`` lack their two capacity lines; they all use
p = 1 2 1 2 1 and q = 2 3 3 5 5, which the reader supplies when a five-option block has no
capacity lines. Violations count the full windows only, each car over p in a window counting
once (the benchmark's excess measure).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from jisflow.domain.errors import ProblemCollector, ValidationError
from jisflow.optimization.instance import CarClass, Component, Instance, Priority, RatioConstraint

CLASSIC_P = (1, 2, 1, 2, 1)
CLASSIC_Q = (2, 3, 3, 5, 5)

_PROBLEM = re.compile(r"^#\s*Problem\s+(\S+)", re.IGNORECASE)


@dataclass(frozen=True)
class _Line:
    number: int
    numbers: tuple[int, ...] | None  # None when the line is not all integers
    text: str


def _lines(text: str) -> list[_Line]:
    out = []
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped:
            continue
        tokens = stripped.split()
        try:
            numbers: tuple[int, ...] | None = tuple(int(t) for t in tokens)
        except ValueError:
            numbers = None
        out.append(_Line(number, numbers, stripped))
    return out


def parse_csplib(text: str, source: str = "<text>", default_name: str = "instance") -> list[Instance]:
    """Every instance of a CSPLib text, in file order.

    Raises :class:`ValidationError` naming the source, the line and what is wrong; all
    problems of the text are collected first.
    """
    problems = ProblemCollector()
    instances: list[Instance] = []
    lines = _lines(text)
    pending_name: str | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.numbers is None:
            match = _PROBLEM.match(line.text)
            if match:
                pending_name = match.group(1)
            i += 1
            continue
        name = pending_name or (default_name if not instances else f"{default_name}-{len(instances) + 1}")
        pending_name = None
        instance, i = _parse_block(lines, i, source, name, problems)
        if instance is not None:
            instances.append(instance)
    if not instances and not problems:
        problems.add(source, "holds no instance (expected a line '#cars #options #classes')")
    problems.raise_if_any(f"{source} is not a valid CSPLib car sequencing file")
    return instances


def _parse_block(
    lines: list[_Line], i: int, source: str, name: str, problems: ProblemCollector
) -> tuple[Instance | None, int]:
    """Parse the block that starts at ``lines[i]``; return it and the index after it."""
    head = lines[i]
    where = f"{source}:{head.number}"
    assert head.numbers is not None
    if len(head.numbers) != 3:
        problems.add(where, f"expected '#cars #options #classes', found {len(head.numbers)} numbers")
        return None, _skip_block(lines, i + 1)
    n_cars, n_options, n_classes = head.numbers
    if n_cars < 1 or n_options < 0 or n_classes < 1:
        problems.add(where, "#cars and #classes must be positive and #options not negative")
        return None, _skip_block(lines, i + 1)
    i += 1
    nxt = lines[i] if i < len(lines) else None
    if nxt is not None and nxt.numbers is not None and len(nxt.numbers) == n_options:
        p_line = nxt
        q_line = lines[i + 1] if i + 1 < len(lines) else None
        if q_line is None or q_line.numbers is None or len(q_line.numbers) != n_options:
            problems.add(
                f"{source}:{(q_line or p_line).number}",
                f"expected {n_options} block sizes (q) after the capacities (p)",
            )
            return None, _skip_block(lines, i + 1)
        p, q = p_line.numbers, q_line.numbers
        assert p is not None and q is not None
        for k, (pk, qk) in enumerate(zip(p, q, strict=True)):
            if not 0 <= pk <= qk or qk < 1:
                problems.add(f"{source}:{p_line.number}", f"option {k}: need 0 <= p <= q and q >= 1, got {pk}/{qk}")
        i += 2
    elif n_options == len(CLASSIC_P):
        p, q = CLASSIC_P, CLASSIC_Q
    else:
        problems.add(f"{source}:{head.number + 1}", f"expected {n_options} capacities (p), then {n_options} block sizes (q)")
        return None, _skip_block(lines, i)
    classes: list[CarClass] = []
    class_names: list[str] = []
    cars: list[int] = []
    for _ in range(n_classes):
        line = lines[i] if i < len(lines) else None
        if line is None or line.numbers is None:
            at = f"{source}:{line.number}" if line else source
            problems.add(at, f"expected {n_classes} class lines, found {len(classes)}")
            return None, i
        where = f"{source}:{line.number}"
        if len(line.numbers) != 2 + n_options:
            problems.add(where, f"a class line needs index, #cars and {n_options} flags; found {len(line.numbers)} numbers")
            i += 1
            continue
        index, count, *flags = line.numbers
        if str(index) in class_names:
            problems.add(where, f"class {index} is given twice")
        if count < 0:
            problems.add(where, f"class {index} has a negative number of cars")
        if any(f not in (0, 1) for f in flags):
            problems.add(where, f"class {index}: option flags must be 0 or 1")
        class_names.append(str(index))
        cars.extend([len(classes)] * max(count, 0))
        classes.append(CarClass(options=tuple(flags)))
        i += 1
    if len(classes) == n_classes and len(cars) != n_cars:
        problems.add(where, f"the classes hold {len(cars)} cars, the header says {n_cars}")
    constraints = tuple(
        RatioConstraint(name=f"option{k}", p=pk, q=qk, priority=Priority.HIGH) for k, (pk, qk) in enumerate(zip(p, q, strict=True))
    )
    instance = Instance(
        name=name,
        constraints=constraints,
        classes=tuple(classes),
        cars=tuple(cars),
        car_ids=tuple(str(k) for k in range(len(cars))),
        objective=((Component.HIGH_RATIO, 1),),
        class_names=tuple(class_names),
    )
    return instance, i


def _skip_block(lines: list[_Line], i: int) -> int:
    while i < len(lines) and lines[i].numbers is not None:
        i += 1
    return i


def read_csplib(path: str | Path, instance: str | None = None) -> Instance:
    """Read one instance from a CSPLib file.

    ``instance`` picks a block by name (``"4/72"``, ``"60-01"``) in a file that holds several;
    a file with a single instance needs none.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationError(f"cannot read {path}: {exc.strerror or exc}") from exc
    instances = parse_csplib(text, source=str(path), default_name=path.stem)
    if instance is None:
        if len(instances) > 1:
            names = ", ".join(i.name for i in instances[:6])
            raise ValidationError(f"{path} holds {len(instances)} instances; pick one by name ({names}, ...)")
        return instances[0]
    for candidate in instances:
        if candidate.name == instance:
            return candidate
    raise ValidationError(f"{path} has no instance named {instance!r}")


def list_csplib(path: str | Path) -> list[Instance]:
    """Every instance of a CSPLib file."""
    path = Path(path)
    return parse_csplib(path.read_text(encoding="utf-8"), source=str(path), default_name=path.stem)
