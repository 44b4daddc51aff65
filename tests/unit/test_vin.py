import doctest
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jisflow.domain import vin
from jisflow.domain.errors import InvalidVin, ValidationError

VIN_CHARACTERS = sorted(set(string.digits + string.ascii_uppercase) - set("IOQ"))


def letter_value(char: str) -> int:
    """Transliteration written independently of the module: the alphabet in rows of nine."""
    if char.isdigit():
        return int(char)
    rows = ("ABCDEFGHI", "JKLMNOPQR", "-STUVWXYZ")
    for row in rows:
        if char in row:
            return row.index(char) + 1
    raise AssertionError(char)


vin_bodies = st.lists(st.sampled_from(VIN_CHARACTERS), min_size=17, max_size=17).map("".join)


def with_check_digit(body: str) -> str:
    return body[:8] + vin.calc_check_digit(body) + body[9:]


def test_the_module_examples_hold():
    failures, tried = doctest.testmod(vin)
    assert tried > 0
    assert failures == 0


def test_a_known_vin_is_valid_and_returned_compact():
    assert vin.validate("1M8GDM9AXKP042788") == "1M8GDM9AXKP042788"
    assert vin.is_valid("11111111111111111")


def test_compact_strips_spaces_and_dashes_and_upper_cases():
    assert vin.compact(" 1m8-gdm9a xkp042788 ") == "1M8GDM9AXKP042788"


def test_a_wrong_length_is_refused_with_the_length_found():
    with pytest.raises(InvalidVin, match="has 16 characters, a VIN has 17"):
        vin.validate("1M8GDM9AXKP04278")


def test_letters_i_o_q_are_refused_with_their_position():
    with pytest.raises(InvalidVin) as caught:
        vin.validate("1M8GDM9AXKPO42I88")
    assert "position 12: 'O' is never used" in caught.value.message
    assert "position 15: 'I' is never used" in caught.value.message


def test_characters_that_are_not_letters_or_digits_are_refused_with_their_position():
    with pytest.raises(InvalidVin, match=r"position 4: '\*' is not a letter A-Z or a digit"):
        vin.validate("1M8*DM9AXKP042788")


def test_a_wrong_check_digit_names_the_expected_one():
    with pytest.raises(InvalidVin, match="position 9: check digit is '1', expected 'X'"):
        vin.validate("1M8GDM9A1KP042788")


def test_the_check_digit_can_be_skipped_for_vins_that_do_not_use_it():
    european = "WVWZZZ1KZ6W000001"
    assert not vin.is_valid(european)
    assert vin.validate(european, check_digit=False) == european


def test_an_invalid_vin_is_a_validation_error():
    with pytest.raises(ValidationError):
        vin.validate("")


def test_a_vin_that_is_not_a_string_is_refused():
    with pytest.raises(InvalidVin, match="must be a string"):
        vin.compact(12345)  # type: ignore[arg-type]


def test_calc_check_digit_ignores_position_9_but_checks_the_rest():
    assert vin.calc_check_digit("1M8GDM9A?KP042788") == "X"
    with pytest.raises(InvalidVin, match="position 1"):
        vin.calc_check_digit("IM8GDM9A0KP042788")


def test_the_check_digit_is_the_weighted_sum_modulo_11_with_ten_written_x():
    assert vin.calc_check_digit("10000000000000000") == "8"  # 1 x weight 8
    assert vin.calc_check_digit("00000007000000000") == "4"  # 7 x weight 10 = 70 = 6 x 11 + 4
    assert vin.calc_check_digit("00000001000000000") == "X"  # 1 x weight 10 = 10


@given(vin_bodies)
def test_any_vin_built_with_its_check_digit_validates(body):
    number = with_check_digit(body)
    assert vin.validate(number) == number


@given(vin_bodies, st.integers(min_value=1, max_value=17), st.sampled_from(VIN_CHARACTERS))
def test_changing_one_character_invalidates_unless_it_transliterates_alike(body, position, char):
    number = with_check_digit(body)
    original = number[position - 1]
    changed = number[: position - 1] + char + number[position:]
    if position == 9:
        expected_valid = char == original
    else:
        expected_valid = letter_value(char) == letter_value(original)
    assert vin.is_valid(changed) is expected_valid
