"""National identifiers: Norwegian fødselsnummer/D-number (with the 2032 check-digit rule
and synthetic test numbers), Swedish personnummer/samordningsnummer, DUF numbers.

Every valid number here is computed by the helpers below from the published rules, never
copied from somewhere; where Skatteetaten or Skatteverket published an example, a test
checks that the helpers reproduce it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.no import fodselsnummer

from models import identity
from models.errors import ValidationFailed
from models.identity import (
    IdKind,
    NationalId,
    birth_century_known,
    check_birth_date_matches,
    normalise_duf,
    parse_national_id,
    parse_norwegian_id,
    parse_swedish_id,
)

TODAY = date(2026, 11, 23)
K1_WEIGHTS = (3, 7, 6, 1, 8, 9, 4, 5, 2)
K2_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


# --- helpers: build numbers from the rules ---------------------------------------------


def _weighted(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=True))


def no_k1(nine: str, remainder: int = 0) -> int | None:
    """First check digit such that (weighted sum + k1) mod 11 == remainder; None if it
    would be 10 (Skatteetaten: k1 = {11..14} - sum mod 11, discarded when 10)."""
    k1 = (remainder - _weighted(nine, K1_WEIGHTS)) % 11
    return None if k1 == 10 else k1


def no_k2(ten: str) -> int | None:
    k2 = (-_weighted(ten, K2_WEIGHTS)) % 11
    return None if k2 == 10 else k2


def no_number(ddmmyy: str, individual: int, remainder: int = 0) -> str | None:
    """The 11-digit number for a date part and individual number, or None if unusable."""
    nine = f"{ddmmyy}{individual:03d}"
    k1 = no_k1(nine, remainder)
    if k1 is None:
        return None
    k2 = no_k2(f"{nine}{k1}")
    return None if k2 is None else f"{nine}{k1}{k2}"


def first_no_number(ddmmyy: str, individuals: range, remainder: int = 0) -> str:
    """The first individual number in `individuals` that gives usable check digits."""
    for individual in individuals:
        number = no_number(ddmmyy, individual, remainder)
        if number is not None:
            return number
    raise AssertionError("no usable individual number in range")


def se_number(yymmdd: str, serial: str) -> str:
    """Ten digits YYMMDDNNNC with the Luhn check digit (weights 2, 1 from the left)."""
    nine = yymmdd + serial
    total = 0
    for i, ch in enumerate(nine):
        product = int(ch) * (2 if i % 2 == 0 else 1)
        total += product // 10 + product % 10
    return f"{nine}{(10 - total % 10) % 10}"


def _error(call: Callable[[], object]) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        call()
    return caught.value


# --- the helpers agree with the published examples -------------------------------------


def test_helpers_reproduce_skatteetaten_2032_examples() -> None:
    """Do the helpers give Skatteetaten's worked examples for the 2032 rule? Yes."""
    assert no_number("020132", 999) == "02013299997"
    assert no_number("301082", 999, remainder=0) == "30108299920"
    assert no_number("301082", 999, remainder=1) == "30108299939"


def test_helper_reproduces_skatteverket_samordningsnummer_example() -> None:
    """Does the Luhn helper give Skatteverket's example samordningsnummer 701063-2391? Yes."""
    assert se_number("701063", "239") == "7010632391"


# --- Norway ----------------------------------------------------------------------------


def test_valid_fodselsnummer() -> None:
    """Is an ordinary fødselsnummer accepted, with kind and birth date? Yes."""
    number = first_no_number("150190", range(100, 200))
    result = parse_norwegian_id(number, today=TODAY)
    assert result == NationalId(number, IdKind.NO_FODSELSNUMMER, date(1990, 1, 15))
    assert birth_century_known(result)


def test_fodselsnummer_born_after_2000() -> None:
    """Does an individual number 500-999 with year 00-39 mean the 2000s? Yes."""
    number = first_no_number("290204", range(500, 600))
    assert parse_norwegian_id(number, today=TODAY).birth_date == date(2004, 2, 29)


def test_fodselsnummer_from_the_900_series_born_in_the_1900s() -> None:
    """Does individual number 900-999 with year 40-99 mean the 1900s? Yes."""
    number = first_no_number("010170", range(999, 900, -1))
    assert parse_norwegian_id(number, today=TODAY).birth_date == date(1970, 1, 1)


@pytest.mark.parametrize(
    "layout", ["{a} {b}", "{a}-{b}", "  {a}{b}\t", "{a}\u2013{b}", "\u200f{a}{b}"]
)
def test_input_noise_is_accepted(layout: str) -> None:
    """Are spaces, a dash, an en dash, surrounding whitespace and a bidi mark ignored? Yes."""
    number = first_no_number("010190", range(200, 300))
    raw = layout.format(a=number[:6], b=number[6:])
    assert parse_norwegian_id(raw, today=TODAY).normalised == number


def test_arabic_indic_digits_are_accepted() -> None:
    """Is a number typed with Arabic-Indic digits read as the same number? Yes."""
    number = first_no_number("010190", range(200, 300))
    arabic = "".join(chr(0x0660 + int(d)) for d in number)
    assert parse_norwegian_id(arabic, today=TODAY).normalised == number


def test_d_number() -> None:
    """Is a D-number accepted and its birth date found (day - 40)? Yes."""
    number = first_no_number("430585", range(300, 400))  # 3 May 1985
    result = parse_norwegian_id(number, today=TODAY)
    assert result.kind is IdKind.NO_D_NUMBER
    assert result.birth_date == date(1985, 5, 3)


def test_bad_check_digit_is_rejected() -> None:
    """Is a number with a wrong second check digit accepted? No."""
    number = first_no_number("150190", range(100, 200))
    wrong = number[:10] + str((int(number[10]) + 1) % 10)
    error = _error(lambda: parse_norwegian_id(wrong, today=TODAY))
    assert error.field == "national_id"
    assert error.message == identity.NO_BAD_CHECK_DIGITS


def test_swapped_digits_are_rejected() -> None:
    """Is a number with two neighbouring digits swapped accepted? No."""
    number = first_no_number("150190", range(120, 200))
    swapped = number[:6] + number[7] + number[6] + number[8:]
    assert swapped != number
    assert _error(lambda: parse_norwegian_id(swapped, today=TODAY)).field == "national_id"


@pytest.mark.parametrize("length", [10, 12])
def test_wrong_length_is_rejected(length: int) -> None:
    """Is a Norwegian number with 10 or 12 digits accepted? No."""
    number = first_no_number("150190", range(100, 200))
    raw = (number + "0")[:length]
    assert _error(lambda: parse_norwegian_id(raw, today=TODAY)).message == identity.NO_WRONG_LENGTH


@pytest.mark.parametrize("raw", ["1501901234a", "15O19012345", "150190+12345", "abc"])
def test_letters_are_rejected(raw: str) -> None:
    """Is a number with letters or other signs accepted? No, with a message saying why."""
    assert _error(lambda: parse_norwegian_id(raw, today=TODAY)).message == identity.NO_NOT_DIGITS


@pytest.mark.parametrize("raw", ["", "   ", "\u200b"])
def test_empty_input_is_rejected(raw: str) -> None:
    """Is empty or blank input accepted? No: the user is asked to enter the number."""
    assert _error(lambda: parse_norwegian_id(raw, today=TODAY)).message == identity.EMPTY


def test_all_four_first_check_digits_of_the_2032_rule_are_accepted() -> None:
    """Are numbers with any of the four first check digits of the 2032 rule accepted? Yes."""
    ddmmyy, individual = "301082", 999
    accepted = []
    for remainder in range(4):
        number = no_number(ddmmyy, individual, remainder)
        if number is None:  # k1 or k2 would be 10; Skatteetaten discards those
            continue
        result = parse_norwegian_id(number, today=TODAY)
        assert result.kind is IdKind.NO_FODSELSNUMMER
        assert result.birth_date == date(1982, 10, 30)
        accepted.append(number[9])
    assert len(accepted) == 4, "pick a base where all four variants are usable"


def test_a_first_check_digit_outside_the_2032_rule_is_rejected() -> None:
    """Is a first check digit outside the four allowed ones accepted, even with a
    matching second check digit? No."""
    nine = "301082999"
    allowed = {no_k1(nine, remainder) for remainder in range(4)}
    k1 = next(d for d in range(10) if d not in allowed)
    k2 = no_k2(f"{nine}{k1}")
    assert k2 is not None
    error = _error(lambda: parse_norwegian_id(f"{nine}{k1}{k2}", today=TODAY))
    assert error.message == identity.NO_BAD_CHECK_DIGITS


def test_stdnum_alone_rejects_the_2032_rule() -> None:
    """Does python-stdnum on its own accept Skatteetaten's 2032 example? No: that is why
    the first check digit is checked by hand."""
    number = no_number("301082", 999, remainder=1)
    assert number is not None
    assert not fodselsnummer.is_valid(number)
    assert parse_norwegian_id(number, today=TODAY).normalised == number


def test_2032_rule_number_has_no_fixed_century() -> None:
    """Does a 2032-rule number fix its century? No: the most recent past century is used,
    and the birth date check compares day, month and two-digit year."""
    number = first_no_number("010150", range(999, 900, -1), remainder=2)
    result = parse_norwegian_id(number, today=TODAY)
    assert not birth_century_known(result)
    assert result.birth_date == date(1950, 1, 1)
    check_birth_date_matches(result, date(1950, 1, 1))
    with pytest.raises(ValidationFailed):
        check_birth_date_matches(result, date(1951, 1, 1))


def test_2032_birth_after_2032_example_is_read_once_that_date_has_passed() -> None:
    """Is Skatteetaten's example for a child born 2 January 2032 accepted in 2032? Yes;
    and before that date? No, it is in the future."""
    number = no_number("020132", 999)
    assert number is not None
    result = parse_norwegian_id(number, today=date(2032, 2, 1))
    assert result.birth_date == date(2032, 1, 2)
    error = _error(lambda: parse_norwegian_id(number, today=TODAY))
    assert error.message == identity.FUTURE_DATE


@pytest.mark.parametrize(
    ("ddmmyy", "born"),
    [
        ("158590", date(1990, 5, 15)),  # Tenor / Test-Norge: month + 80
        ("154590", date(1990, 5, 15)),  # NAV Dolly: month + 40
        ("559290", date(1990, 12, 15)),  # synthetic D-number: day + 40, month + 80
    ],
)
def test_synthetic_numbers_only_when_allowed(ddmmyy: str, born: date) -> None:
    """Is a synthetic test number accepted? Only with allow_synthetic, and then its birth
    date is found."""
    number = first_no_number(ddmmyy, range(100, 200))
    error = _error(lambda: parse_norwegian_id(number, today=TODAY))
    assert error.message == identity.SYNTHETIC_REFUSED
    result = parse_norwegian_id(number, allow_synthetic=True, today=TODAY)
    assert result.kind is IdKind.NO_SYNTHETIC
    assert result.birth_date == born


def test_fh_number_is_rejected() -> None:
    """Is a help number (FH number, first digit 8 or 9) accepted? No."""
    number = first_no_number("812345", range(100, 200))
    assert _error(lambda: parse_norwegian_id(number, today=TODAY)).message == identity.FH_REFUSED


@pytest.mark.parametrize("ddmmyy", ["310290", "300290", "290201", "000190", "011390", "720190"])
def test_impossible_dates_are_rejected(ddmmyy: str) -> None:
    """Is a number whose date does not exist (31 and 30 Feb, 29 Feb 1901, day 0, month 13,
    D-number day 32) accepted? No."""
    number = first_no_number(ddmmyy, range(100, 200))
    error = _error(lambda: parse_norwegian_id(number, allow_synthetic=True, today=TODAY))
    assert error.message == identity.NOT_A_DATE


def test_future_birth_date_is_rejected() -> None:
    """Is a birth date after today accepted? No; today itself is."""
    tomorrow = first_no_number("241126", range(500, 600))
    assert _error(lambda: parse_norwegian_id(tomorrow, today=TODAY)).message == (
        identity.FUTURE_DATE
    )
    born_today = first_no_number("231126", range(500, 600))
    assert parse_norwegian_id(born_today, today=TODAY).birth_date == TODAY


# --- Sweden ----------------------------------------------------------------------------


def test_swedish_personnummer_with_dash() -> None:
    """Is YYMMDD-NNNC accepted, with the century resolved and 12 digits stored? Yes."""
    ten = se_number("811228", "987")
    result = parse_swedish_id(f"{ten[:6]}-{ten[6:]}", today=TODAY)
    assert result == NationalId(f"19{ten}", IdKind.SE_PERSONNUMMER, date(1981, 12, 28))


def test_swedish_personnummer_of_a_child() -> None:
    """Is a personnummer with year 10 and a dash read as 2010? Yes."""
    ten = se_number("100301", "238")
    assert parse_swedish_id(ten, today=TODAY).normalised == f"20{ten}"


def test_swedish_personnummer_with_plus_is_a_century_earlier() -> None:
    """Does "+" mean the person is 100 or older? Yes: 1926, not 2026."""
    ten = se_number("260115", "123")
    assert parse_swedish_id(f"{ten[:6]}-{ten[6:]}", today=TODAY).birth_date == date(2026, 1, 15)
    result = parse_swedish_id(f"{ten[:6]}+{ten[6:]}", today=TODAY)
    assert result.birth_date == date(1926, 1, 15)
    assert result.normalised == f"19{ten}"


def test_swedish_twelve_digit_form() -> None:
    """Are YYYYMMDDNNNC and YYYYMMDD-NNNC accepted as the same number? Yes."""
    ten = se_number("811228", "987")
    for raw in (f"19{ten}", f"19{ten[:6]}-{ten[6:]}", f" 19{ten[:6]} {ten[6:]} "):
        assert parse_swedish_id(raw, today=TODAY).normalised == f"19{ten}"


def test_samordningsnummer() -> None:
    """Is a samordningsnummer accepted and its birth date found (day - 60)? Yes."""
    ten = se_number("701063", "239")
    result = parse_swedish_id(f"{ten[:6]}-{ten[6:]}", today=TODAY)
    assert result.kind is IdKind.SE_SAMORDNINGSNUMMER
    assert result.birth_date == date(1970, 10, 3)
    assert result.normalised == f"19{ten}"  # the day keeps its + 60


def test_swedish_luhn_failure_is_rejected() -> None:
    """Is a personnummer with a wrong check digit accepted? No."""
    ten = se_number("811228", "987")
    wrong = ten[:9] + str((int(ten[9]) + 1) % 10)
    error = _error(lambda: parse_swedish_id(wrong, today=TODAY))
    assert (error.field, error.message) == ("national_id", identity.SE_BAD_CHECK_DIGIT)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("8112289", identity.SE_WRONG_LENGTH),
        ("81122898740", identity.SE_WRONG_LENGTH),
        ("811228-987X", identity.SE_NOT_DIGITS),
        ("8112-289874", identity.SE_BAD_LAYOUT),
        ("811228--9874", identity.SE_BAD_LAYOUT),
    ],
)
def test_swedish_malformed_input_is_rejected(raw: str, message: str) -> None:
    """Is a Swedish number of the wrong length, with letters or a misplaced dash accepted? No."""
    assert _error(lambda: parse_swedish_id(raw, today=TODAY)).message == message


def test_swedish_future_and_impossible_dates_are_rejected() -> None:
    """Is a Swedish number born next month, or on 30 February, accepted? No."""
    future = se_number("261215", "123")
    assert _error(lambda: parse_swedish_id(future, today=TODAY)).message == identity.FUTURE_DATE
    impossible = se_number("810230", "123")
    assert _error(lambda: parse_swedish_id(impossible, today=TODAY)).message == identity.NOT_A_DATE


def test_parse_national_id_dispatches_on_country() -> None:
    """Does parse_national_id read "NO" numbers as Norwegian and "SE" as Swedish? Yes."""
    no = first_no_number("150190", range(100, 200))
    se = se_number("811228", "987")
    assert parse_national_id(no, "NO", today=TODAY).kind is IdKind.NO_FODSELSNUMMER
    assert parse_national_id(se, "SE", today=TODAY).kind is IdKind.SE_PERSONNUMMER
    with pytest.raises(ValueError):
        parse_national_id(no, "DK", today=TODAY)


def test_parse_national_id_passes_allow_synthetic() -> None:
    """Does parse_national_id honour allow_synthetic for Norway? Yes."""
    number = first_no_number("158590", range(100, 200))
    with pytest.raises(ValidationFailed):
        parse_national_id(number, "NO", today=TODAY)
    assert parse_national_id(number, "NO", allow_synthetic=True, today=TODAY).kind is (
        IdKind.NO_SYNTHETIC
    )


# --- DUF -------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["201258697561", "2012 586975 61", " 2012 5869 7561 "])
def test_duf_number_with_twelve_digits(raw: str) -> None:
    """Is a 12-digit DUF number accepted, with spaces removed? Yes."""
    assert normalise_duf(raw) == "201258697561"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("20125869756", identity.DUF_WRONG_LENGTH),
        ("2012586975612", identity.DUF_WRONG_LENGTH),
        ("2012-586975-61", identity.DUF_NOT_DIGITS),
        ("2012 586975 6A", identity.DUF_NOT_DIGITS),
        ("", identity.EMPTY),
    ],
)
def test_duf_number_otherwise_rejected(raw: str, message: str) -> None:
    """Is a DUF number with 11 or 13 digits, a dash or letters accepted? No."""
    error = _error(lambda: normalise_duf(raw))
    assert (error.field, error.message) == ("duf_number", message)


# --- birth date, privacy, robustness ---------------------------------------------------


def test_birth_date_mismatch_is_reported_on_the_birth_date_field() -> None:
    """Does a birth date that differs from the number raise on field "birth_date"? Yes;
    a matching one passes."""
    result = parse_norwegian_id(first_no_number("150190", range(100, 200)), today=TODAY)
    check_birth_date_matches(result, date(1990, 1, 15))
    error = _error(lambda: check_birth_date_matches(result, date(1990, 1, 16)))
    assert (error.field, error.message) == ("birth_date", identity.BIRTH_DATE_MISMATCH)
    with pytest.raises(ValidationFailed):
        check_birth_date_matches(result, date(1890, 1, 15))


def test_swedish_birth_date_mismatch() -> None:
    """Does the birth date check use the samordningsnummer's real day? Yes."""
    result = parse_swedish_id(se_number("701063", "239"), today=TODAY)
    check_birth_date_matches(result, date(1970, 10, 3))
    error = _error(lambda: check_birth_date_matches(result, date(1970, 10, 4)))
    assert error.field == "birth_date"


def test_messages_and_repr_never_contain_the_number() -> None:
    """Does an error message or a NationalId's repr ever contain the number? No."""
    valid = first_no_number("150190", range(100, 200))
    bad = [
        valid[:10] + str((int(valid[10]) + 1) % 10),
        first_no_number("158590", range(100, 200)),
        first_no_number("310290", range(100, 200)),
        first_no_number("241126", range(500, 600)),
        valid + "1",
    ]
    for raw in bad:
        error = _error(lambda raw=raw: parse_norwegian_id(raw, today=TODAY))
        assert raw[:6] not in str(error) and raw[6:] not in str(error)
    assert valid not in repr(parse_norwegian_id(valid, today=TODAY))
    assert "1990" not in repr(parse_norwegian_id(valid, today=TODAY))


messy_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet="0123456789 -+\u2013\u0663\uff11", max_size=16),
    st.from_regex(r"\A[0-9]{6}[-+ ]?[0-9]{4,6}\Z"),
    st.from_regex(r"\A[0-9]{8}[-+]?[0-9]{4}\Z"),
)


@settings(max_examples=300, deadline=None)
@given(raw=messy_text, allow_synthetic=st.booleans(), today=st.dates())
def test_parsers_only_ever_raise_validation_failed(
    raw: str, allow_synthetic: bool, today: date
) -> None:
    """Can any text make a parser raise anything but ValidationFailed? No."""
    calls = [
        lambda: parse_norwegian_id(raw, allow_synthetic=allow_synthetic, today=today),
        lambda: parse_swedish_id(raw, today=today),
        lambda: parse_national_id(raw, "NO", allow_synthetic=allow_synthetic, today=today),
        lambda: parse_national_id(raw, "SE", today=today),
        lambda: normalise_duf(raw),
    ]
    for call in calls:
        try:
            result = call()
        except ValidationFailed as error:
            assert error.field in ("national_id", "duf_number")
        else:
            if isinstance(result, NationalId):
                assert result.birth_date <= today
                assert len(result.normalised) in (11, 12)
            else:
                assert len(result) == 12
