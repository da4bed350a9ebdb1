from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deskctl.errors import InvalidHeight
from deskctl.units import Unit, format_height, parse_height


@pytest.mark.parametrize(
    ("text", "mm"),
    [
        ("1000", 1000.0),
        ("1000mm", 1000.0),
        ("100cm", 1000.0),
        ("100.5 cm", 1005.0),
        ("39.4in", 1000.8),
        ("1.05m", 1050.0),
        (" 72,5 CM ", 725.0),
        ('43"', 1092.2),
        (1100, 1100.0),
        (72.5, 72.5),
    ],
)
def test_accepted_forms(text: str | float, mm: float) -> None:
    assert parse_height(text) == pytest.approx(mm)


@pytest.mark.parametrize(
    "text",
    ["abc", "-5cm", "1e9", "", "cm", "0", "0cm", "12 parsecs", "10000cm", "nan", "inf", "1.2.3"],
)
def test_rejected_forms(text: str) -> None:
    with pytest.raises(InvalidHeight) as caught:
        parse_height(text)
    assert "\n" not in str(caught.value)


def test_bool_is_not_a_height() -> None:
    with pytest.raises(InvalidHeight):
        parse_height(True)


@pytest.mark.parametrize(
    ("unit", "shown"), [(Unit.MM, "1100 mm"), (Unit.CM, "110.0 cm"), (Unit.IN, "43.3 in")]
)
def test_format(unit: Unit, shown: str) -> None:
    assert format_height(1100.0, unit) == shown


@given(st.floats(min_value=100.0, max_value=4000.0), st.sampled_from(list(Unit)))
def test_formatted_heights_parse_back_within_their_precision(mm: float, unit: Unit) -> None:
    # Half the last shown digit, plus the 0.1 mm that parsing rounds to.
    precision = {Unit.MM: 0.55, Unit.CM: 0.55, Unit.IN: 1.32}[unit]
    assert parse_height(format_height(mm, unit).replace(" ", "")) == pytest.approx(
        mm, abs=precision
    )


def test_a_bare_number_is_in_the_users_unit_and_a_misread_one_gets_a_hint() -> None:
    from deskctl.errors import InvalidHeight
    from deskctl.units import parse_user_height

    assert parse_user_height("110", Unit.CM) == 1100.0
    assert parse_user_height("43.3", Unit.IN) == pytest.approx(1099.8)
    assert parse_user_height("1100", Unit.MM) == 1100.0
    assert parse_user_height("110mm", Unit.CM) == 110.0  # a unit given is a unit kept
    assert parse_user_height(2, Unit.CM, plausible_mm=None) == 20.0  # a distance
    with pytest.raises(InvalidHeight, match=r"^110 mm is no desk height; did you mean 110 cm\?$"):
        parse_user_height("110", Unit.MM)
    with pytest.raises(InvalidHeight, match="is not a height"):
        parse_user_height("-5", Unit.CM)
