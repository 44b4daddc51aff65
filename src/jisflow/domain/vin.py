"""Vehicle identification numbers (VIN, ISO 3779 and 49 CFR 565).

A VIN has 17 characters, digits and capital letters except I, O and Q (too easily read as 1
and 0). Position 9 carries a check digit: every character is transliterated to a number
(digits stand for themselves, letters follow the table ``TRANSLITERATION``), multiplied by the
weight of its position, and the sum is taken modulo 11; a remainder of 10 is written ``X``.

The check digit is mandatory in North America. Many European manufacturers leave position 9
to their own use, so :func:`validate` and :func:`is_valid` can skip it with
``check_digit=False``.

>>> validate('1M8GDM9AXKP042788')
'1M8GDM9AXKP042788'
>>> compact('1m8 gdm9a-xkp042788')
'1M8GDM9AXKP042788'
>>> calc_check_digit('1M8GDM9A0KP042788')
'X'
>>> validate('1M8GDM9A1KP042788')
Traceback (most recent call last):
    ...
jisflow.domain.errors.InvalidVin: invalid VIN '1M8GDM9A1KP042788': position 9: check digit is '1', expected 'X'
>>> validate('1M8GDM9AXKPO4278')
Traceback (most recent call last):
    ...
jisflow.domain.errors.InvalidVin: invalid VIN '1M8GDM9AXKPO4278': has 16 characters, a VIN has 17; position 12: 'O' is never used in a VIN (I, O and Q are excluded)
>>> is_valid('1M8GDM9A1KP042788')
False
>>> is_valid('1M8GDM9A1KP042788', check_digit=False)
True
"""

from __future__ import annotations

import string

from jisflow.domain.errors import InvalidVin, Problem

LENGTH = 17
CHECK_DIGIT_POSITION = 9
"""1-based position of the check digit."""

WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
EXCLUDED = frozenset("IOQ")
ALPHABET = frozenset(string.digits + string.ascii_uppercase) - EXCLUDED

TRANSLITERATION: dict[str, int] = {
    **{digit: int(digit) for digit in string.digits},
    **dict(zip("ABCDEFGH", range(1, 9))),
    **dict(zip("JKLMN", range(1, 6))),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10))),
}


def compact(vin: str) -> str:
    """The VIN without spaces and dashes, in upper case."""
    if not isinstance(vin, str):
        raise InvalidVin(f"a VIN must be a string, got {type(vin).__name__} {vin!r}")
    return vin.replace(" ", "").replace("-", "").strip().upper()


def calc_check_digit(vin: str) -> str:
    """The check digit (``0``-``9`` or ``X``) for a 17-character VIN.

    The character at position 9 is ignored (its weight is 0), so any placeholder may stand
    there.
    """
    number = compact(vin)
    _raise_if_any(number, _format_problems(number, skip_position=CHECK_DIGIT_POSITION))
    return _check_digit(number)


def validate(vin: str, *, check_digit: bool = True) -> str:
    """The compact VIN, or InvalidVin saying what is wrong and at which position.

    Positions count from 1 in the compact VIN. With ``check_digit=False`` position 9 may be any
    allowed character.
    """
    number = compact(vin)
    problems = _format_problems(number)
    if not problems and check_digit:
        expected = _check_digit(number)
        found = number[CHECK_DIGIT_POSITION - 1]
        if found != expected:
            what = f"check digit is {found!r}, expected {expected!r}"
            problems.append(Problem(f"position {CHECK_DIGIT_POSITION}", what))
    _raise_if_any(number, problems)
    return number


def is_valid(vin: str, *, check_digit: bool = True) -> bool:
    """Whether ``vin`` passes :func:`validate`."""
    try:
        validate(vin, check_digit=check_digit)
    except InvalidVin:
        return False
    return True


def _check_digit(number: str) -> str:
    total = sum(TRANSLITERATION[char] * weight for char, weight in zip(number, WEIGHTS) if weight)
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def _format_problems(number: str, skip_position: int | None = None) -> list[Problem]:
    """Wrong length and every character a VIN may not contain, with its 1-based position."""
    problems: list[Problem] = []
    if len(number) != LENGTH:
        problems.append(Problem("", f"has {len(number)} characters, a VIN has {LENGTH}"))
    for position, char in enumerate(number, start=1):
        if position == skip_position or char in ALPHABET:
            continue
        if char in EXCLUDED:
            what = f"{char!r} is never used in a VIN (I, O and Q are excluded)"
        else:
            what = f"{char!r} is not a letter A-Z or a digit"
        problems.append(Problem(f"position {position}", what))
    return problems


def _raise_if_any(number: str, problems: list[Problem]) -> None:
    """One InvalidVin whose message names every problem (callers often show only the message)."""
    if problems:
        raise InvalidVin(f"invalid VIN {number!r}: " + "; ".join(map(str, problems)))
