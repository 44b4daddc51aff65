"""The vehicle mix of a plant and a seeded generator of production orders that follow it.

A mix is the list of options a vehicle is built with (``model``, ``trim``, ``colour``,
``market``, ...), each with integer weights for its values. An option may take its weights
from the value of one earlier option (trim weights given the model, wheel sizes given the trim);
a value missing from such a table is not offered in that case. Exclusions forbid combinations
(no diesel for the US market, no panorama roof on the base trim).

Drawing a vehicle walks the options in order. For each option the applicable weight table is
taken, every value that would complete an exclusion with the options already drawn is removed,
and one of the remaining values is drawn with probability weight / total of the remaining
weights. The draw uses integers only (``random.Random.randrange``), so a seed gives the same
vehicles on every platform. The option ``model`` is mandatory and becomes the vehicle's model;
every other option becomes one of its option codes.

::

    mix = VehicleMix(
        options=(
            MixOption("model", weights=(("HATCH", 60), ("SUV", 40))),
            MixOption("trim", given="model", weights_given=(
                ("HATCH", (("BASE", 70), ("LUX", 30))),
                ("SUV", (("LUX", 1),)),
            )),
            MixOption("engine", weights=(("PETROL", 70), ("DIESEL", 30))),
            MixOption("market", weights=(("EU", 80), ("US", 20))),
        ),
        exclusions=(Exclusion((OptionCondition("market", frozenset({"US"})),
                               OptionCondition("engine", frozenset({"DIESEL"})))),),
    )
    vehicles = generate_vehicles(mix, count=100, seed=7)
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from jisflow.domain.errors import Problem, ProblemCollector, ValidationError
from jisflow.domain.plant import OptionCondition
from jisflow.domain.vin import ALPHABET, calc_check_digit

Weights = tuple[tuple[str, int], ...]

MODEL_KEY = "model"

_VIN_YEAR_CODES = ALPHABET - frozenset("UZ0")


@dataclass(frozen=True)
class MixOption:
    """One option of the mix and the weights of its values.

    ``weights`` applies in every case, unless ``given`` names an earlier option: then the table
    in ``weights_given`` for that option's drawn value applies, and ``weights`` (if any) is the
    fallback for values of ``given`` without a table of their own.
    """

    key: str
    weights: Weights = ()
    given: str | None = None
    weights_given: tuple[tuple[str, Weights], ...] = ()

    @property
    def values(self) -> tuple[str, ...]:
        """Every value the option can take, in order of first mention."""
        seen: dict[str, None] = dict.fromkeys(v for v, _ in self.weights)
        for _, table in self.weights_given:
            seen.update(dict.fromkeys(v for v, _ in table))
        return tuple(seen)

    def weights_for(self, chosen: Mapping[str, str]) -> Weights:
        """The weight table that applies once the earlier options are ``chosen``."""
        if self.given is not None:
            for value, table in self.weights_given:
                if value == chosen.get(self.given):
                    return table
        return self.weights


@dataclass(frozen=True)
class Exclusion:
    """A combination that is never built: a vehicle that meets every condition is forbidden."""

    conditions: tuple[OptionCondition, ...]

    def matches(self, options: Mapping[str, str]) -> bool:
        return all(c.matches(options.get(MODEL_KEY, ""), options) for c in self.conditions)

    def __str__(self) -> str:
        return " and ".join(str(c) for c in self.conditions)


@dataclass(frozen=True)
class VinPattern:
    """The fixed parts of generated VINs: world manufacturer id, model-year code, plant code."""

    wmi: str = "WJF"
    model_year: str = "T"
    plant: str = "M"


@dataclass(frozen=True)
class VehicleMix:
    """The option distributions of the vehicles a plant builds; validated on construction."""

    options: tuple[MixOption, ...]
    exclusions: tuple[Exclusion, ...] = ()
    vin: VinPattern = VinPattern()
    _closing: tuple[tuple[Exclusion, ...], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        found = ProblemCollector()
        _check_options(self.options, found)
        _check_exclusions(self.options, self.exclusions, found)
        _check_vin_pattern(self.vin, found)
        found.raise_if_any("the vehicle mix is not valid")
        position = {o.key: i for i, o in enumerate(self.options)}
        closing = tuple(
            tuple(e for e in self.exclusions if max(position[c.key] for c in e.conditions) == i)
            for i in range(len(self.options))
        )
        object.__setattr__(self, "_closing", closing)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(o.key for o in self.options)

    def draw(self, rng: random.Random) -> dict[str, str]:
        """One vehicle's options (``model`` included), drawn from ``rng``."""
        chosen: dict[str, str] = {}
        for index, option in enumerate(self.options):
            table = self._allowed(index, chosen)
            pick = rng.randrange(sum(w for _, w in table))
            for value, weight in table:
                if pick < weight:
                    chosen[option.key] = value
                    break
                pick -= weight
        return chosen

    def combinations(self) -> Iterator[dict[str, str]]:
        """Every combination of options (``model`` included) that the mix can produce.

        The number can be large (it multiplies): take what you need with ``itertools.islice``.
        Raises ValidationError when some combination of earlier options leaves an option with no
        value at all (the exclusions forbid every one of them).
        """
        yield from self._extend({}, 0)

    def _extend(self, chosen: dict[str, str], index: int) -> Iterator[dict[str, str]]:
        if index == len(self.options):
            yield dict(chosen)
            return
        key = self.options[index].key
        for value, _ in self._allowed(index, chosen):
            chosen[key] = value
            yield from self._extend(chosen, index + 1)
        chosen.pop(key, None)

    def _allowed(self, index: int, chosen: dict[str, str]) -> Weights:
        """The weight table of option ``index`` without the values an exclusion forbids."""
        option = self.options[index]
        table = option.weights_for(chosen)
        exclusions = self._closing[index]
        if exclusions:
            table = tuple(
                (value, weight)
                for value, weight in table
                if not any(e.matches({**chosen, option.key: value}) for e in exclusions)
            )
        if not table:
            spec = ", ".join(f"{k}={v}" for k, v in chosen.items())
            raise ValidationError(
                "the vehicle mix is not valid",
                problems=[
                    Problem(
                        f"options[{index}]",
                        f"option {option.key} has no value left for a vehicle with {spec}: "
                        "the exclusions forbid every value its weights offer",
                    )
                ],
            )
        return table


@dataclass(frozen=True)
class GeneratedVehicle:
    """A production order drawn from a mix: order id, VIN, model and option codes."""

    order_id: str
    vin: str
    model: str
    options: dict[str, str]


def generate_vehicles(
    mix: VehicleMix, count: int, seed: int, start_order: int = 1, prefix: str = "ORD"
) -> list[GeneratedVehicle]:
    """``count`` vehicles drawn from ``mix`` with ``random.Random(seed)``.

    Order ids are ``prefix`` + the order number on six digits (``ORD000001``); the VIN carries
    the mix's VIN pattern, the model in the descriptor section and the order number (modulo one
    million) as serial number, with a correct ISO 3779 check digit.
    """
    found = ProblemCollector()
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        found.add("count", f"must be a whole number of 0 or more, got {count!r}")
    if isinstance(start_order, bool) or not isinstance(start_order, int) or start_order < 0:
        found.add("start_order", f"must be a whole number of 0 or more, got {start_order!r}")
    found.raise_if_any("cannot generate vehicles")
    rng = random.Random(seed)
    vehicles = []
    for number in range(start_order, start_order + count):
        options = mix.draw(rng)
        model = options.pop(MODEL_KEY)
        vehicles.append(
            GeneratedVehicle(
                order_id=f"{prefix}{number:06d}",
                vin=_vin(mix.vin, model, number),
                model=model,
                options=options,
            )
        )
    return vehicles


def _vin(pattern: VinPattern, model: str, number: int) -> str:
    descriptor = "".join(c for c in model.upper() if c in ALPHABET)[:5].ljust(5, "X")
    body = f"{pattern.wmi}{descriptor}0{pattern.model_year}{pattern.plant}{number % 1_000_000:06d}"
    return body[:8] + calc_check_digit(body) + body[9:]


def _check_options(options: tuple[MixOption, ...], found: ProblemCollector) -> None:
    if not options:
        found.add("options", "lists no option; a mix needs at least the option model")
        return
    position: dict[str, int] = {}
    for i, option in enumerate(options):
        where = f"options[{i}]"
        if not isinstance(option.key, str) or not option.key.strip():
            found.add(f"{where}.key", "is empty")
        elif option.key in position:
            found.add(f"{where}.key", f"option {option.key} is already declared at options[{position[option.key]}]")
        else:
            position[option.key] = i
        _check_weights(option.weights, f"{where}.weights", found)
        if option.given is None:
            if option.weights_given:
                found.add(f"{where}.weights_given", "needs given: the option whose value selects the table")
            if not option.weights:
                found.add(f"{where}.weights", f"option {option.key} offers no value")
            continue
        _check_given(options, i, position, found)
    if MODEL_KEY not in position:
        found.add("options", f"lists no option {MODEL_KEY}; every vehicle needs a model")


def _check_given(
    options: tuple[MixOption, ...], index: int, position: Mapping[str, int], found: ProblemCollector
) -> None:
    option, where = options[index], f"options[{index}]"
    if option.given == option.key or option.given not in position:
        found.add(f"{where}.given", f"must name an option declared before {option.key}, not {option.given!r}")
        return
    given_values = options[position[option.given]].values
    tables: set[str] = set()
    for value, table in option.weights_given:
        if value not in given_values:
            found.add(f"{where}.weights_given.{value}", f"{value} is not a value of option {option.given}")
        elif value in tables:
            found.add(f"{where}.weights_given.{value}", "has a second weight table")
        tables.add(value)
        _check_weights(table, f"{where}.weights_given.{value}", found)
        if not table:
            found.add(f"{where}.weights_given.{value}", "offers no value")
    uncovered = [v for v in given_values if v not in tables]
    if uncovered and not option.weights:
        found.add(
            f"{where}.weights_given",
            f"has no table for {option.given} = {', '.join(uncovered)} and the option has no default weights",
        )


def _check_weights(weights: Weights, where: str, found: ProblemCollector) -> None:
    seen: set[str] = set()
    for value, weight in weights:
        if not isinstance(value, str) or not value.strip():
            found.add(where, f"has an empty value ({value!r})")
            continue
        if value in seen:
            found.add(f"{where}.{value}", "appears twice")
        seen.add(value)
        if isinstance(weight, bool) or not isinstance(weight, int) or weight <= 0:
            found.add(f"{where}.{value}", f"the weight must be a whole number above 0, got {weight!r}")


def _check_exclusions(
    options: tuple[MixOption, ...], exclusions: tuple[Exclusion, ...], found: ProblemCollector
) -> None:
    values = {o.key: set(o.values) for o in options}
    for i, exclusion in enumerate(exclusions):
        if not exclusion.conditions:
            found.add(f"exclusions[{i}]", "has no condition; it would forbid every vehicle")
        for condition in exclusion.conditions:
            where = f"exclusions[{i}].{condition.key}"
            if condition.key not in values:
                found.add(where, f"{condition.key} is not an option of the mix")
                continue
            if not condition.values:
                found.add(where, "lists no value")
            unknown = sorted(condition.values - values[condition.key])
            if unknown:
                found.add(where, f"{', '.join(unknown)} is not a value of option {condition.key}")


def _check_vin_pattern(pattern: VinPattern, found: ProblemCollector) -> None:
    if len(pattern.wmi) != 3 or not set(pattern.wmi) <= ALPHABET:
        found.add("vin.wmi", f"must be 3 VIN characters (digits and letters but I, O, Q), got {pattern.wmi!r}")
    if len(pattern.model_year) != 1 or pattern.model_year not in _VIN_YEAR_CODES:
        found.add("vin.model_year", f"must be one model-year code (not I, O, Q, U, Z or 0), got {pattern.model_year!r}")
    if len(pattern.plant) != 1 or pattern.plant not in ALPHABET:
        found.add("vin.plant", f"must be one VIN character (digits and letters but I, O, Q), got {pattern.plant!r}")
