"""Personal identifiers: validate and normalise what a caseworker types.

Covers the Norwegian fødselsnummer and D-number (and, for test environments, synthetic
numbers), the Swedish personnummer and samordningsnummer, and UDI's DUF number. Pure
functions: no Flask, no database, nothing is changed. Any layer may call them; errors a
user can cause are `ValidationFailed` with an untranslated message and the form field it
belongs to. No message ever contains the number (messages reach logs and flash messages),
and `NationalId.__repr__` hides it too.

python-stdnum supplies the check-digit arithmetic (`stdnum.no.fodselsnummer`,
`stdnum.luhn`). Its `validate()` functions are not used because they reject numbers we
must accept: `fodselsnummer.validate` knows only the pre-2032 first check digit and
synthetic numbers with month + 80, and both modules compare against `date.today()`
instead of the `today` the caller passes.

Sources (read 2026-11):

Norway
- Check digits and the 2032 change: Skatteetaten, "Nytt fødselsnummer fra 2032",
  https://skatteetaten.github.io/folkeregisteret-api-dokumentasjon/nytt-fodselsnummer-fra-2032/
  Weights 3 7 6 1 8 9 4 5 2 (k1) and 5 4 3 2 7 6 5 4 3 2 (k2). New rule:
  k1 = {11, 12, 13, 14} - (weighted sum mod 11), i.e. the remainder including k1 may be
  0, 1, 2 or 3; a k1 of 10 is discarded; k2 is computed as before. Gender is no longer
  encoded and "Individnummeret vil ikke lenger angi århundre": the register, not the
  number, holds the birth date. Worked examples there: 02013299997, 30108299920,
  30108299939. Also https://www.skatteetaten.no/en/deling/opplysninger/folkeregisteropplysninger/pid/
  (in use from 1 January 2032; systems must read old and new rules in parallel).
- Century from the individual number (forskrift om folkeregistrering § 2-2, quoted at
  https://lovas.info/2013/12/01/identitetsnummer-i-norge/ and matematikk.org): born
  1854-1899: 749-500; 1900-1999: 499-000; 1940-1999 also 999-900; 2000-2039: 999-500.
- D-number: 4 added to the first digit (day + 40): https://altinnett.brreg.no/no/Begreper-A-A/D-nummer/
  and https://www.udi.no/ord-og-begreper/d-nummer/d-nummer-stemmer-ikke-med-fodselsdato/ ,
  which also warns that when no number is free for the birth date, the day and month of
  registration are used instead (Skatteetaten says the same of fødselsnumre). FH-numbers
  start with 8 or 9 and carry no birth date (fnrinfo.no; stdnum's own note).
- Synthetic numbers: Skatteetaten's Test-Norge population (searchable in Tenor) adds 80 to
  the month ("syntetiske fødselsnumre vil ha +80 på måned", Skatteetaten api-dokumentasjon,
  news 2022-01-11; navikt/testnorge docs/applications/dolly/testnorge.md). NAV's Dolly adds
  40 to the month (bekkopen/NoCommons release "Testidenter for Nav (+40)"; navikt/fnrvalidator
  src/validator.ts reads month digit 8-9 as Test-Norge). Month + 40 is also the health
  sector's H-number (fnrinfo.no); neither belongs in a participant record.

Sweden
- Skatteverket, rättslig vägledning "Personnummer" (330245): födelsetid YYMMDD,
  födelsenummer 001-999, check digit by modulus 10 with weights 2 and 1 (= Luhn) over the
  ten digits; the dash becomes "+" from the year the person turns 100; stored with twelve
  digits, century 18, 19 or 20.
- Samordningsnummer: day + 60, check digit computed as for a personnummer (Skatteverket
  SKV M 2010:3, example 701063-2391; Socialstyrelsen's termbank).

DUF number
- UDI: twelve digits, starting with the year of the first application ("2012 586975 61"),
  https://www.udi.no/nn/ord-og-omgrep/duf-nummer/ . No check digit is published by UDI.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime

from stdnum import luhn
from stdnum.no import fodselsnummer

from models.codes import Country
from models.errors import N_, ValidationFailed

FIELD_NATIONAL_ID = "national_id"
FIELD_DUF_NUMBER = "duf_number"
FIELD_BIRTH_DATE = "birth_date"

NO_LENGTH = 11
SE_LENGTHS = (10, 12)
DUF_LENGTH = 12

# Dash look-alikes that word processors and phones substitute for "-".
_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2212\ufe63\uff0d"
_PLUSES = "+\ufe62\uff0b"
_SE_PATTERN = re.compile(r"(\d{6}|\d{8})([-+]?)(\d{4})", re.ASCII)

EMPTY = N_("Enter the ID number.")
NO_NOT_DIGITS = N_("The ID number may only contain digits, spaces and a dash.")
SE_NOT_DIGITS = N_("The ID number may only contain digits, spaces and a dash or plus sign.")
NO_WRONG_LENGTH = N_("A Norwegian ID number has 11 digits.")
SE_WRONG_LENGTH = N_("A Swedish ID number has 10 digits (YYMMDD-NNNN) or 12 digits (YYYYMMDDNNNN).")
SE_BAD_LAYOUT = N_("Write the Swedish ID number as YYMMDD-NNNN or YYYYMMDDNNNN.")
NO_BAD_CHECK_DIGITS = N_("The check digits do not match: check the number for typing errors.")
SE_BAD_CHECK_DIGIT = N_("The check digit does not match: check the number for typing errors.")
NOT_A_DATE = N_("The date in the ID number is not a real date: check the number for typing errors.")
FUTURE_DATE = N_(
    "The birth date in the ID number is in the future: check the number for typing errors."
)
SYNTHETIC_REFUSED = N_(
    "Test numbers are not accepted here: enter a real national identity number or D number."
)
FH_REFUSED = N_(
    "Help numbers (FH numbers) are not accepted here: "
    "enter the national identity number or D number."
)
DUF_NOT_DIGITS = N_("A DUF number may only contain digits and spaces.")
DUF_WRONG_LENGTH = N_("A DUF number has 12 digits.")
BIRTH_DATE_MISMATCH = N_(
    "The birth date does not match the date in the ID number: check both for typing errors."
)


class IdKind(enum.StrEnum):
    """What kind of national identifier a number is."""

    NO_FODSELSNUMMER = "no_fnr"
    NO_D_NUMBER = "no_dnr"
    NO_SYNTHETIC = "no_synthetic"  # Tenor/Test-Norge (month + 80) or NAV Dolly (month + 40)
    SE_PERSONNUMMER = "se_pnr"
    SE_SAMORDNINGSNUMMER = "se_snr"


@dataclass(frozen=True, repr=False)
class NationalId:
    """A validated national identifier.

    `normalised` is the canonical form to store and index: Norway 11 digits; Sweden 12
    digits YYYYMMDDNNNC with the century resolved (a samordningsnummer keeps its day + 60).
    `birth_date` is read from the number; see `birth_century_known` for Norwegian numbers
    whose century the number does not fix.
    """

    normalised: str
    kind: IdKind
    birth_date: date

    def __repr__(self) -> str:
        # Personal data stays out of logs and tracebacks.
        return f"NationalId(kind={self.kind.value!r})"


def _fail(message: str, field: str = FIELD_NATIONAL_ID) -> ValidationFailed:
    return ValidationFailed(message, field=field)


def _today(today: date | None) -> date:
    # Same clock as models.base.utcnow (frozen by time-machine in tests), without
    # importing SQLAlchemy into this pure module.
    return today if today is not None else datetime.now(UTC).date()


def _clean(raw: str, *, dash: str | None, plus: str | None, not_digits: str, field: str) -> str:
    """Drop whitespace and invisible formatting characters (bidi marks, zero-width spaces
    and soft hyphens pasted from other documents); turn any Unicode decimal digit
    (Arabic-Indic, fullwidth, ...) into ASCII; map dash and plus look-alikes to `dash` and
    `plus` ("" drops them, None refuses them). Anything else is refused with `not_digits`."""
    out: list[str] = []
    for ch in raw:
        if ch.isspace() or unicodedata.category(ch) == "Cf":
            continue
        if ch.isdecimal():
            value = unicodedata.decimal(ch, None)
            if value is None:
                raise _fail(not_digits, field)
            out.append(str(value))
        elif dash is not None and ch in _DASHES:
            out.append(dash)
        elif plus is not None and ch in _PLUSES:
            out.append(plus)
        else:
            raise _fail(not_digits, field)
    if not out:
        raise _fail(EMPTY, field)
    return "".join(out)


def _make_date(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise _fail(NOT_A_DATE) from None


def _not_in_future(born: date, today: date) -> date:
    if born > today:
        raise _fail(FUTURE_DATE)
    return born


def _latest_year_ending_in(yy: int, today: date) -> int:
    """The most recent year, not after this year, whose last two digits are `yy`."""
    return today.year - (today.year - yy) % 100


# --- Norway ---------------------------------------------------------------------------


def _no_k1_remainder(digits: str) -> int:
    """(weighted sum of the first nine digits + k1) mod 11. 0 is the pre-2032 rule; the
    2032 rule also allows 1, 2 and 3."""
    k1_pre_2032 = int(fodselsnummer.calc_check_digit1(digits[:9]))  # "10": no valid k1 of old
    return (int(digits[9]) - k1_pre_2032) % 11


def _no_check_digits_ok(digits: str) -> bool:
    # k2 is unchanged by the 2032 rule and is computed over the nine digits and the given k1.
    return (
        _no_k1_remainder(digits) in (0, 1, 2, 3)
        and fodselsnummer.calc_check_digit2(digits[:10]) == digits[10]
    )


def _no_century(individual: int, yy: int) -> int | None:
    """Century under forskrift om folkeregistrering § 2-2, or None where the table has none.

    By hand rather than stdnum's get_birth_date, which raises the same exception for "no
    century" and "no such date"; we must tell them apart."""
    if individual <= 499:
        return 1900
    if individual <= 749 and yy >= 54:
        return 1800
    if yy <= 39:  # 500-999
        return 2000
    if individual >= 900:  # and yy >= 40
        return 1900
    return None


def _no_fixed_century(digits: str) -> int | None:
    """The century the number fixes, if any. Numbers under the 2032 rule do not encode it;
    those with remainder 0 are read with the table, which holds for every number issued
    before the change."""
    if _no_k1_remainder(digits) != 0:
        return None
    return _no_century(int(digits[6:9]), int(digits[4:6]))


def parse_norwegian_id(
    raw: str, *, allow_synthetic: bool = False, today: date | None = None
) -> NationalId:
    """Validate a fødselsnummer or D-number typed by a user; synthetic test numbers only
    when `allow_synthetic` (test and demo environments). Raises ValidationFailed on
    field "national_id"."""
    digits = _clean(raw, dash="", plus=None, not_digits=NO_NOT_DIGITS, field=FIELD_NATIONAL_ID)
    if len(digits) != NO_LENGTH:
        raise _fail(NO_WRONG_LENGTH)
    if not _no_check_digits_ok(digits):
        raise _fail(NO_BAD_CHECK_DIGITS)

    day, month, yy = int(digits[0:2]), int(digits[2:4]), int(digits[4:6])
    if day >= 80:
        raise _fail(FH_REFUSED)
    is_d_number = day > 40
    if is_d_number:
        day -= 40
    month_offset = 80 if 81 <= month <= 92 else 40 if 41 <= month <= 52 else 0
    if month_offset and not allow_synthetic:
        raise _fail(SYNTHETIC_REFUSED)
    month -= month_offset

    today = _today(today)
    century = _no_fixed_century(digits)
    if century is not None:
        born = _not_in_future(_make_date(century + yy, month, day), today)
    else:
        # The number does not say: take the most recent century that is not in the future.
        year = _latest_year_ending_in(yy, today)
        born = _make_date(year, month, day)
        if born > today:
            born = _make_date(year - 100, month, day)

    if month_offset:
        kind = IdKind.NO_SYNTHETIC
    elif is_d_number:
        kind = IdKind.NO_D_NUMBER
    else:
        kind = IdKind.NO_FODSELSNUMMER
    return NationalId(normalised=digits, kind=kind, birth_date=born)


# --- Sweden ---------------------------------------------------------------------------


def parse_swedish_id(raw: str, *, today: date | None = None) -> NationalId:
    """Validate a personnummer or samordningsnummer typed by a user, as YYMMDD-NNNC,
    YYMMDD+NNNC (aged 100 or more), YYMMDDNNNC or YYYYMMDD(-)NNNC. Raises ValidationFailed
    on field "national_id"."""
    text = _clean(raw, dash="-", plus="+", not_digits=SE_NOT_DIGITS, field=FIELD_NATIONAL_ID)
    digit_count = sum(ch.isdigit() for ch in text)
    if digit_count not in SE_LENGTHS:
        raise _fail(SE_WRONG_LENGTH)
    match = _SE_PATTERN.fullmatch(text)
    if match is None:
        raise _fail(SE_BAD_LAYOUT)
    date_part, separator, serial = match.groups()
    ten = date_part[-6:] + serial
    if not luhn.is_valid(ten):
        raise _fail(SE_BAD_CHECK_DIGIT)

    today = _today(today)
    yy, month, day = int(ten[0:2]), int(ten[2:4]), int(ten[4:6])
    if len(date_part) == 8:
        # The century is written out; a separator adds nothing.
        year = int(date_part[:4])
        if year < 1800:  # Skatteverket stores centuries 18, 19 and 20 only
            raise _fail(NOT_A_DATE)
    else:
        # "-" (or none) until the year the person turns 100, "+" from then on.
        year = _latest_year_ending_in(yy, today) - (100 if separator == "+" else 0)

    is_samordningsnummer = day > 60
    if is_samordningsnummer:
        day -= 60
    born = _not_in_future(_make_date(year, month, day), today)
    kind = IdKind.SE_SAMORDNINGSNUMMER if is_samordningsnummer else IdKind.SE_PERSONNUMMER
    return NationalId(normalised=f"{year:04d}{ten[2:]}", kind=kind, birth_date=born)


# --- Either country, DUF, birth date --------------------------------------------------


def parse_national_id(
    raw: str, country: str, *, allow_synthetic: bool = False, today: date | None = None
) -> NationalId:
    """Validate a national identifier of `country` ("NO" or "SE"). An unknown country code
    is a programming error (ValueError), not a user error; `allow_synthetic` has no
    effect for Sweden, whose test numbers look like real ones."""
    if Country(country) is Country.NORWAY:
        return parse_norwegian_id(raw, allow_synthetic=allow_synthetic, today=today)
    return parse_swedish_id(raw, today=today)


def normalise_duf(raw: str) -> str:
    """Validate a DUF number (UDI's case number for the person): exactly 12 digits once
    spaces are removed. Raises ValidationFailed on field "duf_number"."""
    digits = _clean(raw, dash=None, plus=None, not_digits=DUF_NOT_DIGITS, field=FIELD_DUF_NUMBER)
    if len(digits) != DUF_LENGTH:
        raise _fail(DUF_WRONG_LENGTH, FIELD_DUF_NUMBER)
    return digits


def birth_century_known(national_id: NationalId) -> bool:
    """Whether the number itself fixes the century of the birth year. False for Norwegian
    numbers under the 2032 check-digit rule and for individual numbers outside the
    pre-2032 table: their `birth_date` century is the most recent one not in the future."""
    if national_id.kind in (IdKind.SE_PERSONNUMMER, IdKind.SE_SAMORDNINGSNUMMER):
        return True
    return _no_fixed_century(national_id.normalised) is not None


def check_birth_date_matches(national_id: NationalId, birth_date: date) -> None:
    """Raise ValidationFailed on field "birth_date" when `birth_date` differs from the date
    in the number. Where the number does not fix the century, day, month and the last two
    digits of the year are compared.

    A mismatch is not always a typing error: when no number was free for a birth date,
    Skatteetaten uses the day and month of registration instead (UDI, Skatteetaten), and
    Skatteverket too runs out of numbers for some birth dates. Callers should let a
    caseworker confirm rather than block."""
    derived = national_id.birth_date
    if birth_century_known(national_id):
        same = derived == birth_date
    else:
        same = (derived.month, derived.day, derived.year % 100) == (
            birth_date.month,
            birth_date.day,
            birth_date.year % 100,
        )
    if not same:
        raise _fail(BIRTH_DATE_MISMATCH, FIELD_BIRTH_DATE)
