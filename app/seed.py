"""`veiviser seed`: made-up units, staff and participants at scale, for load tests and demos.

Everything written here is synthetic:

* names come from lists of common names of the largest refugee groups settled in
  Norway (Ukrainian, Syrian Arabic and Kurdish, Afghan, Eritrean, Somali, Congolese,
  Sudanese) and are combined at random, so no record describes a real person;
* national identity numbers follow Skatteetaten's synthetic convention — month + 80
  (Test-Norge / Tenor) — with correct check digits, so they can never be a real
  fødselsnummer or D-number (the app accepts them only with ``ALLOW_SYNTHETIC_IDS``;
  `models.participants.find_by_identifier` always does);
* DUF numbers are twelve digits starting with the year of the first application;
  UDI publishes no check digit, so they look like real ones but belong to no record.

Participants are not written through the ORM one by one: each row is built as a
dict with its values sealed and its blind indexes computed through the key ring —
exactly what `models.participants.register` would store — and inserted with one
executemany per batch. Staff are few and go through the ORM; every seeded account
shares one password, hashed once.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import itertools
import json
import math
import os
import random
import secrets
import sys
import time
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import click
from flask.cli import with_appcontext
from sqlalchemy import Engine, Table, insert, inspect, select, text
from sqlalchemy.orm import Session

from models.accounts import Membership, Role, Unit, UnitKind, User
from models.base import local_today, new_ref, utcnow
from models.codes import Country, ParticipantStatus, PermitCategory, Sex
from models.crypto import Encrypted, KeyRing, keyring_of
from models.participants import (
    DUF_DOMAIN,
    NATIONAL_ID_DOMAIN,
    NO_DEADLINE,
    Participant,
    facts_of,
    fold_name,
)

if TYPE_CHECKING:
    from models.rules import Facts

EMAIL_DOMAIN = "seed.veiviser.test"
BATCH_SIZE = 2_000
DEFAULT_CASELOAD = 40  # participants per advisor; a programrådgiver follows some 25-50
EARLIEST_ARRIVAL = date(2023, 1, 1)
BIRTH_YEARS = (1960, 2007)
SYNTHETIC_MONTH_OFFSET = 80  # Skatteetaten's Test-Norge: month + 80
D_NUMBER_DAY_OFFSET = 40
_K1_WEIGHTS = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_K2_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


# -- name lists ------------------------------------------------------------------


@dataclass(frozen=True)
class Origin:
    """A group of newcomers: common names, languages and the usual residence bases."""

    key: str
    weight: int
    female: tuple[str, ...]
    male: tuple[str, ...]
    family: tuple[str, ...]
    # Language sets with weights; the first code of a set is the main language.
    languages: tuple[tuple[tuple[str, ...], int], ...]
    interpreter_share: float
    permits: tuple[tuple[PermitCategory, int], ...]


P = PermitCategory

ORIGINS: tuple[Origin, ...] = (
    Origin(
        "ukrainian",
        34,
        female=(
            "Olena", "Iryna", "Oksana", "Nataliia", "Tetiana", "Yuliia", "Anastasiia",
            "Kateryna", "Svitlana", "Halyna", "Mariia", "Viktoriia", "Liudmyla", "Daryna",
            "Sofiia", "Alina", "Khrystyna", "Inna", "Larysa", "Valentyna",
        ),
        male=(
            "Oleksandr", "Andrii", "Serhii", "Dmytro", "Mykola", "Volodymyr", "Ivan", "Yurii",
            "Vasyl", "Maksym", "Artem", "Bohdan", "Taras", "Oleh", "Ihor", "Viktor", "Roman",
            "Denys", "Yevhen", "Pavlo",
        ),
        family=(
            "Shevchenko", "Kovalenko", "Bondarenko", "Tkachenko", "Kravchenko", "Melnyk",
            "Boiko", "Koval", "Oliinyk", "Shevchuk", "Polishchuk", "Lysenko", "Marchenko",
            "Rudenko", "Savchenko", "Moroz", "Petrenko", "Kovalchuk", "Tkachuk", "Klymenko",
            "Havryliuk", "Ponomarenko", "Levchenko", "Hrytsenko", "Pavlenko",
        ),
        languages=((("uk",), 6), (("uk", "ru"), 3), (("ru", "uk"), 1), (("uk", "en"), 2)),
        interpreter_share=0.5,
        permits=((P.NO_COLLECTIVE_PROTECTION, 95), (P.NO_FAMILY_OTHER, 5)),
    ),
    Origin(
        "syrian_arabic",
        15,
        female=(
            "Fatima", "Aya", "Rama", "Nour", "Hala", "Rasha", "Lina", "Reem", "Maryam",
            "Yasmin", "Ghada", "Dima", "Huda", "Salma", "Rania", "Amal", "Lama", "Batoul",
            "Sidra", "Bushra",
        ),
        male=(
            "Mohammad", "Ahmad", "Khaled", "Omar", "Mahmoud", "Hussein", "Ali", "Yousef",
            "Bilal", "Rami", "Samer", "Fadi", "Hassan", "Abdullah", "Majd", "Wael", "Anas",
            "Tarek", "Ammar", "Louay",
        ),
        family=(
            "Al-Hamwi", "Al-Halabi", "Haddad", "Khoury", "Darwish", "Al-Ahmad", "Al-Hussein",
            "Kassab", "Al-Shami", "Hamdan", "Al-Masri", "Nassar", "Sabbagh", "Al-Ali",
            "Qassem", "Al-Khatib", "Zaher", "Othman", "Al-Homsi", "Jabr", "Barakat", "Mansour",
            "Suleiman", "Al-Rifai",
        ),
        languages=((("ar",), 8), (("ar", "en"), 2), (("ar", "tr"), 1)),
        interpreter_share=0.75,
        permits=(
            (P.NO_REFUGEE, 45),
            (P.NO_RESETTLEMENT, 30),
            (P.NO_FAMILY_OF_REFUGEE, 20),
            (P.NO_HUMANITARIAN, 5),
        ),
    ),
    Origin(
        "syrian_kurdish",
        6,
        female=(
            "Berivan", "Rojda", "Zozan", "Nesrin", "Hevin", "Dilan", "Ronahî", "Gulistan",
            "Avin", "Jiyan", "Zîlan", "Hêvî", "Shilan", "Roken",
        ),
        male=(
            "Azad", "Rojhat", "Shivan", "Dilshad", "Baran", "Serhat", "Kawa", "Hozan", "Diyar",
            "Rêzan", "Rênas", "Shêrko",
        ),
        family=(
            "Ibrahim", "Hasan", "Sheikho", "Mustafa", "Bakir", "Issa", "Hamo", "Sido",
            "Khalil", "Osman", "Mihemed", "Ehmed", "Bozan", "Temo", "Yousef", "Omar",
        ),
        languages=((("kmr", "ar"), 6), (("kmr",), 3), (("ar", "kmr"), 1)),
        interpreter_share=0.7,
        permits=(
            (P.NO_REFUGEE, 45),
            (P.NO_RESETTLEMENT, 25),
            (P.NO_FAMILY_OF_REFUGEE, 25),
            (P.NO_HUMANITARIAN, 5),
        ),
    ),
    Origin(
        "afghan",
        12,
        female=(
            "Zahra", "Maryam", "Fatima", "Mursal", "Parisa", "Shabnam", "Sakina", "Nargis",
            "Freshta", "Madina", "Hosai", "Mahbooba", "Setara", "Zarghona", "Latifa",
            "Nilofar", "Tahmina",
        ),
        male=(
            "Ahmad", "Mohammad", "Ali", "Hamid", "Mustafa", "Jawad", "Farid", "Nasir", "Sayed",
            "Rahmatullah", "Abdul Wahid", "Hussain", "Zabihullah", "Omid", "Mirwais",
            "Shafiq", "Sohrab", "Naweed",
        ),
        family=(
            "Ahmadi", "Rahimi", "Hakimi", "Karimi", "Sultani", "Popal", "Noori", "Hashimi",
            "Sadat", "Mohammadi", "Amiri", "Wardak", "Stanekzai", "Haidari", "Rezaei", "Safi",
            "Habibi", "Azizi", "Jalali", "Hotak",
        ),
        languages=((("prs",), 6), (("ps", "prs"), 3), (("prs", "en"), 1)),
        interpreter_share=0.8,
        permits=(
            (P.NO_RESETTLEMENT, 35),
            (P.NO_REFUGEE, 35),
            (P.NO_FAMILY_OF_REFUGEE, 25),
            (P.NO_HUMANITARIAN, 5),
        ),
    ),
    Origin(
        "eritrean",
        10,
        female=(
            "Senait", "Helen", "Mebrat", "Selam", "Saba", "Yordanos", "Feven", "Rahel", "Winta",
            "Luwam", "Eden", "Hiwet", "Tsega", "Semhar", "Meron", "Ruta",
        ),
        male=(
            "Yonas", "Dawit", "Mehari", "Tesfay", "Filmon", "Samuel", "Biniam", "Henok",
            "Robel", "Michael", "Habtom", "Amanuel", "Kibrom", "Natnael", "Yosief", "Aron",
        ),
        family=(
            "Tesfamariam", "Gebremedhin", "Haile", "Kidane", "Berhane", "Tekle", "Ghebreyesus",
            "Woldemichael", "Habte", "Yohannes", "Mebrahtu", "Asmerom", "Andemariam",
            "Tewelde", "Ghirmay", "Okbazghi", "Weldu", "Negash",
        ),
        languages=((("ti",), 7), (("ti", "am"), 2), (("ti", "ar"), 1)),
        interpreter_share=0.8,
        permits=((P.NO_REFUGEE, 50), (P.NO_FAMILY_OF_REFUGEE, 45), (P.NO_RESETTLEMENT, 5)),
    ),
    Origin(
        "somali",
        8,
        female=(
            "Hodan", "Faadumo", "Hibo", "Amina", "Sahra", "Khadra", "Ifrah", "Nasra", "Ubah",
            "Deeqa", "Fardowsa", "Hamdi", "Ayaan", "Sagal", "Idil", "Naimo",
        ),
        male=(
            "Abdirahman", "Mohamed", "Abdullahi", "Ahmed", "Hassan", "Abdikarim", "Mahad",
            "Liban", "Farah", "Yusuf", "Bashir", "Omar", "Said", "Abdiaziz", "Guled", "Mustafe",
        ),
        family=(
            "Warsame", "Farah", "Hirsi", "Abdi", "Jama", "Mohamud", "Ali", "Osman", "Dahir",
            "Nur", "Ismail", "Aden", "Yusuf", "Egal", "Hussein", "Abdullahi", "Gedi",
            "Samatar",
        ),
        languages=((("so",), 7), (("so", "ar"), 2), (("so", "en"), 2)),
        interpreter_share=0.7,
        permits=(
            (P.NO_FAMILY_OF_REFUGEE, 50),
            (P.NO_REFUGEE, 25),
            (P.NO_RESETTLEMENT, 20),
            (P.NO_FAMILY_OTHER, 5),
        ),
    ),
    Origin(
        "congolese",
        8,
        female=(
            "Grâce", "Esther", "Nadège", "Bénédicte", "Furaha", "Neema", "Rachel", "Aline",
            "Chantal", "Mapendo", "Espérance", "Sifa", "Riziki", "Ornella", "Solange", "Dorcas",
        ),
        male=(
            "Jean-Baptiste", "Patrick", "Emmanuel", "Héritier", "Fiston", "Blaise",
            "Dieudonné", "Prince", "Christian", "Joël", "Amani", "Bahati", "Josué",
            "Jean-Claude", "Cédric", "Eric",
        ),
        family=(
            "Mukendi", "Tshibangu", "Ilunga", "Mbuyi", "Kalombo", "Lukusa", "Mulamba",
            "Nsimba", "Bisimwa", "Mwamba", "Kasongo", "Bahati", "Cishugi", "Kabongo",
            "Mutombo", "Ngoy", "Byamungu", "Kanyinda",
        ),
        languages=((("sw", "fr"), 5), (("fr", "ln"), 3), (("rw", "sw"), 2), (("sw",), 2)),
        interpreter_share=0.75,
        permits=((P.NO_RESETTLEMENT, 80), (P.NO_FAMILY_OF_REFUGEE, 15), (P.NO_REFUGEE, 5)),
    ),
    Origin(
        "sudanese",
        7,
        female=(
            "Fatima", "Amna", "Hawa", "Mariam", "Asha", "Nafisa", "Samah", "Sara", "Tasneem",
            "Hiba", "Rayan", "Iman", "Zainab", "Khadija",
        ),
        male=(
            "Mohamed", "Ahmed", "Osman", "Abdelrahman", "Mustafa", "Hamid", "Ibrahim", "Adam",
            "Yasir", "Musa", "Abubakar", "Elsadig", "Hashim", "Idris",
        ),
        family=(
            "Abdalla", "Elamin", "Osman", "Babiker", "Elhassan", "Adam", "Ishag",
            "Abdelrahim", "Hamad", "Yagoub", "Elnour", "Abakar", "Siddig", "Mohamed Ali",
        ),
        languages=((("ar",), 7), (("ar", "en"), 3)),
        interpreter_share=0.7,
        permits=((P.NO_REFUGEE, 55), (P.NO_RESETTLEMENT, 25), (P.NO_FAMILY_OF_REFUGEE, 20)),
    ),
)  # fmt: skip

# The name a person goes by, where a short form is common.
SHORT_FORMS = {
    "Oleksandr": "Sasha", "Anastasiia": "Nastia", "Kateryna": "Katia", "Dmytro": "Dima",
    "Volodymyr": "Volodia", "Yevhen": "Zhenia", "Khrystyna": "Khrystia",
    "Zabihullah": "Zabi", "Rahmatullah": "Rahmat", "Abdul Wahid": "Wahid",
    "Yordanos": "Yordi", "Natnael": "Nati", "Abdirahman": "Abdi", "Abdikarim": "Karim",
    "Faadumo": "Fadumo", "Dieudonné": "Dieudo", "Jean-Baptiste": "Baptiste",
    "Abdelrahman": "Abdo",
}  # fmt: skip

MUNICIPALITIES = (
    "Bergen", "Trondheim", "Stavanger", "Drammen", "Kristiansand", "Fredrikstad", "Tromsø",
    "Sandnes", "Sarpsborg", "Skien", "Bodø", "Ålesund", "Larvik", "Tønsberg", "Arendal",
    "Hamar", "Haugesund", "Porsgrunn", "Halden", "Moss", "Gjøvik", "Lillehammer", "Molde",
    "Harstad", "Kongsberg", "Horten", "Steinkjer", "Narvik", "Alta", "Elverum", "Askøy",
    "Lørenskog", "Asker", "Bærum", "Lillestrøm", "Ringsaker", "Ullensaker", "Karmøy", "Sola",
    "Levanger",
)  # fmt: skip

STAFF_GIVEN = (
    "Ingrid", "Kari", "Anne", "Marit", "Silje", "Ida", "Nora", "Hanne", "Tone", "Camilla",
    "Sofie", "Marte", "Lars", "Ole", "Per", "Jon", "Kjetil", "Espen", "Magnus", "Henrik",
    "Eirik", "Tor", "Sindre", "Amir", "Leila", "Samira", "Yonas", "Zainab",
)  # fmt: skip
STAFF_FAMILY = (
    "Haugen", "Berg", "Lund", "Olsen", "Dahl", "Hansen", "Johansen", "Larsen", "Andersen",
    "Pedersen", "Nilsen", "Kristiansen", "Jensen", "Karlsen", "Pettersen", "Eriksen",
    "Solberg", "Bakken", "Strand", "Moen", "Lie", "Aas", "Hagen", "Ødegård", "Sæther",
    "Løvås", "Haddad", "Tesfay",
)  # fmt: skip


# -- people ------------------------------------------------------------------------


def synthetic_national_id(born: date, individual: int, *, d_number: bool = False) -> str | None:
    """Skatteetaten's synthetic form of a fødselsnummer (month + 80) or D-number (also
    day + 40) for `born`, or None when the individual number gives no valid check digit."""
    day = born.day + (D_NUMBER_DAY_OFFSET if d_number else 0)
    digits = f"{day:02d}{born.month + SYNTHETIC_MONTH_OFFSET:02d}{born.year % 100:02d}"
    digits += f"{individual:03d}"
    for weights in (_K1_WEIGHTS, _K2_WEIGHTS):
        check = (11 - sum(w * int(d) for w, d in zip(weights, digits, strict=True)) % 11) % 11
        if check == 10:
            return None
        digits += str(check)
    return digits


@dataclass(repr=False)
class SyntheticPerson:
    """One made-up participant in plain text, before sealing. No repr: it reads like
    personal data even though it is not."""

    given_name: str
    family_name: str
    preferred_name: str | None
    sex: Sex
    birth_date: date
    national_id: str | None
    duf_number: str | None
    email: str | None
    languages: tuple[str, ...]
    interpreter_language: str | None
    permit_category: PermitCategory
    permit_granted_on: date
    arrival_on: date
    settlement_on: date
    settlement_municipality: str | None
    is_protected_address: bool = False
    status: ParticipantStatus = ParticipantStatus.REGISTERED
    competence_mapping_on: date | None = None
    programme_decision_on: date | None = None
    programme_start_on: date | None = None
    programme_end_on: date | None = None
    country: Country = Country.NORWAY

    @property
    def birth_date_text(self) -> str:
        return self.birth_date.isoformat()

    def facts(self) -> Facts:
        """What the rules know, read by the model's own `facts_of`: a person has every
        attribute it reads, under the same name, so the two cannot drift apart unnoticed
        (a new attribute there is an AttributeError here)."""
        return facts_of(cast(Participant, self))

    def next_deadline(self, today: date) -> tuple[date, str] | None:
        """The (due date, kind) `refresh_deadlines` stores for a new record (which has no
        overrides yet); tests/test_seed.py checks the two agree."""
        from models.rules import deadlines

        pending = [
            (d.due_on, str(d.kind)) for d in deadlines(self.facts(), today) if d.met_on is None
        ]
        return min(pending, default=None)


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in folded if ch.isascii() and ch.isalnum())


class _Weighted:
    """A weighted choice with the cumulative weights computed once."""

    def __init__(self, pairs: tuple[tuple[Any, int], ...]) -> None:
        self.values = [value for value, _weight in pairs]
        self.cumulative = list(itertools.accumulate(weight for _value, weight in pairs))

    def pick(self, rng: random.Random) -> Any:
        return self.values[bisect.bisect(self.cumulative, rng.random() * self.cumulative[-1])]


class PersonFactory:
    """Makes plausible, internally consistent synthetic participants.

    Dates: born 1960-2007; arrived 2023 to today; the permit before settlement
    (granted abroad for resettlement and family reunification, after arrival for
    asylum and collective protection); settlement after arrival, now and then
    planned a few months ahead. Status and programme dates follow from how long
    ago the person was settled and from the rules' entitlement.
    """

    def __init__(self, rng: random.Random, today: date, *, endings: bool = False) -> None:
        self.rng = rng
        self.today = today
        # Outcome seeding (`veiviser seed --outcomes`): more programmes started and ended.
        self.endings = endings
        self._national_ids: set[str] = set()
        self._duf_numbers: set[str] = set()
        self._origins = _Weighted(tuple((o, o.weight) for o in ORIGINS))
        self._permits = {o.key: _Weighted(o.permits) for o in ORIGINS}
        self._languages = {o.key: _Weighted(o.languages) for o in ORIGINS}

    def _birth_date(self) -> date:
        first, last = BIRTH_YEARS
        year = min(last, int(self.rng.triangular(first, last + 1, 1991)))
        start = date(year, 1, 1)
        return start + timedelta(days=self.rng.randrange((date(year, 12, 31) - start).days + 1))

    def _national_id(self, born: date) -> str:
        # Pre-2032 individual numbers, which fix the century: 000-499 for 1900-1999,
        # 500-999 for 2000-2039 (forskrift om folkeregistrering § 2-2).
        low, high = (0, 499) if born.year < 2000 else (500, 999)
        d_number = self.rng.random() < 0.15
        while True:
            number = synthetic_national_id(born, self.rng.randint(low, high), d_number=d_number)
            if number is not None and number not in self._national_ids:
                self._national_ids.add(number)
                return number

    def _duf(self, year: int) -> str:
        while True:
            number = f"{year:04d}{self.rng.randrange(10**8):08d}"
            if number not in self._duf_numbers:
                self._duf_numbers.add(number)
                return number

    def _days(self, low: int, high: int) -> timedelta:
        # random() rather than randint(): half the cost, and this runs a dozen times a row.
        return timedelta(days=low + int(self.rng.random() * (high - low + 1)))

    def make(self, municipality: str | None) -> SyntheticPerson:
        rng, today = self.rng, self.today
        origin: Origin = self._origins.pick(rng)
        female = rng.random() < 0.5
        given = rng.choice(origin.female if female else origin.male)
        family = rng.choice(origin.family)
        if family == given:
            family = rng.choice(origin.family)
        sex = Sex.UNKNOWN if rng.random() < 0.01 else (Sex.FEMALE if female else Sex.MALE)
        preferred = SHORT_FORMS.get(given) if rng.random() < 0.4 else None
        born = self._birth_date()

        permit: PermitCategory = self._permits[origin.key].pick(rng)
        latest_arrival = max(EARLIEST_ARRIVAL, today - timedelta(days=20))
        arrival = EARLIEST_ARRIVAL + self._days(0, (latest_arrival - EARLIEST_ARRIVAL).days)
        if permit is P.NO_RESETTLEMENT:  # UNHCR quota: permit abroad, settled on arrival
            granted = arrival - self._days(60, 300)
            settled = arrival + self._days(0, 3)
        elif permit in (P.NO_FAMILY_OF_REFUGEE, P.NO_FAMILY_OTHER):  # granted abroad
            granted = arrival - self._days(30, 240)
            settled = arrival + self._days(0, 60)
        elif permit is P.NO_COLLECTIVE_PROTECTION:
            granted = arrival + self._days(10, 90)
            settled = granted + self._days(20, 150)
        else:  # asylum: permit after the application, then settlement
            granted = arrival + self._days(60, 330)
            settled = granted + self._days(20, 200)
        granted = min(granted, today)
        # A settlement may be registered ahead, but not far: at most four months.
        settled = max(min(settled, today + timedelta(days=120)), granted, arrival)
        application_year = (granted if granted < arrival else arrival).year

        national_id = self._national_id(born) if rng.random() < 0.8 else None
        duf = self._duf(application_year) if national_id is None or rng.random() < 0.9 else None
        languages: tuple[str, ...] = self._languages[origin.key].pick(rng)
        needs_interpreter = rng.random() < origin.interpreter_share
        email = None
        if rng.random() < 0.3:
            email = f"{_ascii(given)}.{_ascii(family)}{rng.randrange(100)}@example.org"
        person = SyntheticPerson(
            given_name=given,
            family_name=family,
            preferred_name=preferred,
            sex=sex,
            birth_date=born,
            national_id=national_id,
            duf_number=duf,
            email=email,
            languages=languages,
            interpreter_language=languages[0] if needs_interpreter else None,
            permit_category=permit,
            permit_granted_on=granted,
            arrival_on=arrival,
            settlement_on=settled,
            settlement_municipality=municipality,
            is_protected_address=rng.random() < 0.003,
        )
        self._programme(person)
        return person

    def _programme(self, person: SyntheticPerson) -> None:
        """Status and programme dates, from the time since settlement and the entitlement."""
        from models.rules import programme_entitlement

        rng, today = self.rng, self.today
        settled = person.settlement_on
        # With `endings`, entitlement as the municipality judged it at settlement: judged
        # today, the "less than two years in a municipality" limit makes everyone settled
        # over two years ago not entitled, and there are few programme ends to count.
        judged = min(settled, today) if self.endings else today
        if programme_entitlement(person.facts(), judged).value is False:
            person.status = ParticipantStatus.NOT_ENTITLED
            return
        if settled > today:
            return  # registered ahead of settlement
        since = (today - settled).days
        mapping = settled + self._days(10, 60)
        if mapping <= today and rng.random() < 0.9:
            person.competence_mapping_on = mapping
        if since < 60 or rng.random() < 0.1:
            return  # registered: recently settled, or late (their deadlines show as overdue)
        decision = mapping + self._days(5, 30)
        start = decision + self._days(0, 21)
        if start > today:
            if decision <= today:
                person.competence_mapping_on = mapping
                person.programme_decision_on = decision
            return
        person.competence_mapping_on = mapping
        person.programme_decision_on = decision
        person.programme_start_on = start
        person.status = ParticipantStatus.ACTIVE
        if self.endings:
            # Programmes run ten months to two and a half years; most whose end has come
            # have ended (the rest were extended), so a unit's outcome figures have ends in
            # each of the last three years to count.
            end = start + self._days(300, 900)
            if end <= today and rng.random() < 0.85:
                person.status = ParticipantStatus.ENDED
                person.programme_end_on = end
                return
        elif since > 700 and rng.random() < 0.25:
            end = start + self._days(365, 730)
            if end <= today:
                person.status = ParticipantStatus.ENDED
                person.programme_end_on = end
            return
        if since > 400 and rng.random() < 0.06:
            person.status = ParticipantStatus.ON_LEAVE


# -- rows ------------------------------------------------------------------------


@functools.cache
def _layout() -> tuple[dict[str, tuple[Encrypted, str]], tuple[str, ...]]:
    """Participant's encrypted attributes with the column key each is stored in, and
    every column key but the primary key.

    Sealed columns are named differently from their attributes (`given_name_sealed`
    is stored in column "given_name"); a Core INSERT speaks in column keys. The other
    columns are named like their attributes, and an INSERT with a key that is no
    column fails loudly.
    """
    columns = {prop.key: prop.columns[0].key for prop in inspect(Participant).column_attrs}
    sealed = {
        name: (attr, columns[attr.sealed_attr])
        for name, attr in vars(Participant).items()
        if isinstance(attr, Encrypted)
    }
    return sealed, tuple(key for attr, key in columns.items() if attr != "id")


@dataclass(frozen=True)
class Assignment:
    """Where a person goes: unit and advisors (ids)."""

    unit_id: int
    primary_advisor_id: int | None
    secondary_advisor_id: int | None = None


class ParticipantWriter:
    """Seals synthetic people into participant rows and inserts them in batches.

    Who may call: the seed command and the demo, inside their own transaction; the
    caller commits (and records the audit event). `national_ids` collects
    ref → national ID when `keep_ids` is set (for benchmark scripts only).
    """

    def __init__(
        self,
        session: Session,
        today: date,
        *,
        batch_size: int = BATCH_SIZE,
        keep_ids: bool = False,
    ) -> None:
        self.session = session
        self.keyring: KeyRing = keyring_of(session)
        self.today = today
        self.now: datetime = utcnow()
        self.batch_size = batch_size
        self.keep_ids = keep_ids
        self.national_ids: dict[str, str] = {}
        self.written = 0
        self._pending: list[dict[str, Any]] = []
        sealed, columns = _layout()
        self._sealed = sealed
        self._template: dict[str, Any] = dict.fromkeys(columns)

    def row(self, person: SyntheticPerson, where: Assignment) -> dict[str, Any]:
        """The INSERT parameters (column keys) for one person."""
        session, keyring = self.session, self.keyring
        ref = new_ref()
        next_deadline = person.next_deadline(self.today)
        row = self._template.copy()
        row.update(
            {
                "ref": ref,
                "version": 1,
                "country": person.country,
                "unit_id": where.unit_id,
                "primary_advisor_id": where.primary_advisor_id,
                "secondary_advisor_id": where.secondary_advisor_id,
                "status": person.status,
                "national_id_index": None
                if person.national_id is None
                else keyring.blind_index(session, NATIONAL_ID_DOMAIN, person.national_id),
                "duf_index": None
                if person.duf_number is None
                else keyring.blind_index(session, DUF_DOMAIN, person.duf_number),
                "sex": person.sex,
                "languages": ",".join(person.languages) or None,
                "interpreter_needed": person.interpreter_language is not None,
                "interpreter_language": person.interpreter_language,
                "is_protected_address": person.is_protected_address,
                "is_restricted": False,
                "permit_category": person.permit_category,
                "permit_granted_on": person.permit_granted_on,
                "arrival_on": person.arrival_on,
                "settlement_municipality": person.settlement_municipality,
                "settlement_on": person.settlement_on,
                "competence_mapping_on": person.competence_mapping_on,
                "programme_decision_on": person.programme_decision_on,
                "programme_start_on": person.programme_start_on,
                "programme_end_on": person.programme_end_on,
                "next_deadline_on": next_deadline[0] if next_deadline else None,
                "next_deadline_kind": next_deadline[1] if next_deadline else None,
                "deadline_sort_on": next_deadline[0] if next_deadline else NO_DEADLINE,
                "created_at": self.now,
                "updated_at": self.now,
            }
        )
        # The same folded value models.participants._apply stores for the name search.
        search = fold_name(
            " ".join(
                part or ""
                for part in (person.given_name, person.family_name, person.preferred_name)
            )
        )
        for attr, plain in (
            ("given_name", person.given_name),
            ("family_name", person.family_name),
            ("preferred_name", person.preferred_name),
            ("search_name", search),
            ("national_id", person.national_id),
            ("duf_number", person.duf_number),
            ("birth_date_text", person.birth_date_text),
            ("email", person.email),
        ):
            if plain is not None:
                field, column = self._sealed[attr]
                row[column] = keyring.seal(session, plain, field.table, field.name, ref)
        if self.keep_ids and person.national_id is not None:
            self.national_ids[ref] = person.national_id
        return row

    def add(self, person: SyntheticPerson, where: Assignment) -> None:
        self._pending.append(self.row(person, where))
        if len(self._pending) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            self.session.execute(insert(cast(Table, Participant.__table__)), self._pending)
            self.written += len(self._pending)
            self._pending = []


# -- staff -------------------------------------------------------------------------


@dataclass(frozen=True)
class SeededUser:
    email: str
    role: str
    unit: str


@dataclass
class SeededUnit:
    unit: Unit
    municipality: str
    advisor_ids: list[int] = field(default_factory=list)


def _run_tag(session: Session, unit_names: list[str]) -> tuple[str, list[str]]:
    """A suffix that keeps this run's e-mails and unit names apart from earlier runs'."""
    for run in range(1, 10_000):
        tag = "" if run == 1 else f".r{run}"
        names = [name if run == 1 else f"{name} (r{run})" for name in unit_names]
        taken_email = session.scalar(
            select(User.id).where(User.email == f"admin1{tag}@{EMAIL_DOMAIN}")
        )
        taken_unit = session.scalar(select(Unit.id).where(Unit.name.in_(names)).limit(1))
        if taken_email is None and taken_unit is None:
            return tag, names
    raise click.ClickException("Too many earlier seed runs in this database.")


def _unit_places(count: int) -> list[str]:
    places = []
    for i in range(count):
        place = MUNICIPALITIES[i % len(MUNICIPALITIES)]
        lap = i // len(MUNICIPALITIES)
        places.append(place if lap == 0 else f"{place} {lap + 1}")
    return places


def create_staff(
    session: Session,
    *,
    unit_count: int,
    advisors_per_unit: int,
    password_hash: str,
    rng: random.Random,
) -> tuple[list[SeededUnit], list[SeededUser]]:
    """K refugee-service units, each with a leader, advisors, a teacher and a partner;
    one administrator overall (in the first unit). All share `password_hash`."""
    places = _unit_places(unit_count)
    tag, names = _run_tag(session, [f"Flyktningtjenesten {place}" for place in places])
    units = [
        SeededUnit(Unit(name=name, kind=UnitKind.REFUGEE_SERVICE, is_active=True), place)
        for name, place in zip(names, places, strict=True)
    ]
    session.add_all([u.unit for u in units])
    session.flush()

    made: list[tuple[User, Role, SeededUnit]] = []

    def add_user(local: str, role: Role, seeded: SeededUnit) -> None:
        name = f"{rng.choice(STAFF_GIVEN)} {rng.choice(STAFF_FAMILY)}"
        user = User(email=f"{local}{tag}@{EMAIL_DOMAIN}", display_name=name)
        user.password_hash = password_hash
        user.memberships.append(Membership(unit=seeded.unit, unit_id=seeded.unit.id, role=role))
        made.append((user, role, seeded))

    add_user("admin1", Role.ADMIN, units[0])
    for number, seeded in enumerate(units, start=1):
        add_user(f"leader1.u{number}", Role.LEADER, seeded)
        for i in range(1, advisors_per_unit + 1):
            add_user(f"advisor{i}.u{number}", Role.ADVISOR, seeded)
        add_user(f"teacher1.u{number}", Role.TEACHER, seeded)
        add_user(f"partner1.u{number}", Role.PARTNER, seeded)
    session.add_all([user for user, _role, _unit in made])
    session.flush()
    for user, role, seeded in made:
        if role is Role.ADVISOR:
            seeded.advisor_ids.append(user.id)
    users = [SeededUser(user.email, role.value, seeded.unit.name) for user, role, seeded in made]
    return units, users


def assignments(units: list[SeededUnit], count: int, rng: random.Random) -> Iterator[Assignment]:
    """Spread `count` participants evenly over the units and, within a unit, round-robin
    over its advisors, so every advisor has participants once there are enough of them;
    about one in twelve also gets a second advisor."""
    turn = [0] * len(units)
    for i in range(count):
        index = i % len(units)
        advisors = units[index].advisor_ids
        primary = secondary = None
        if advisors:
            primary = advisors[turn[index] % len(advisors)]
            turn[index] += 1
            if len(advisors) > 1 and rng.random() < 0.08:
                secondary = rng.choice([a for a in advisors if a != primary])
        yield Assignment(units[index].unit.id, primary, secondary)


def load_participants(
    writer: ParticipantWriter,
    factory: PersonFactory,
    plan: Iterable[tuple[Assignment, str | None]],
) -> int:
    """Generate and insert one synthetic person per (assignment, municipality)."""
    for where, municipality in plan:
        writer.add(factory.make(municipality), where)
    writer.flush()
    return writer.written


_BULK_TABLES = (
    "participants, users, memberships, units, plans, plan_elements, plan_versions, tasks, "
    "follow_ups, language_classes, class_teachers, enrolments, class_sessions, attendances, "
    "attendance_months, "
    "programme_ends, language_test_results, placements, employers, language_leaves"
)


def refresh_statistics(session: Session) -> None:
    """VACUUM ANALYZE (PostgreSQL) or ANALYZE (SQLite) the tables just filled.

    PostgreSQL's manual advises it after a bulk load ("Populating a Database"). VACUUM
    as well, because a bulk-loaded table has no visibility map until autovacuum has run:
    without it the outcome figures' index-only scan over a unit's attendance reads the
    whole heap instead (H9, issue 7). On SQLite, without statistics the planner picks the
    unit index over the deadline index and a 100k caseload page took 86 ms instead of
    18 ms (bench/bench_participants.py --sqlite-analyze).
    """
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        session.execute(text("ANALYZE"))
    elif isinstance(bind, Engine):
        session.commit()
        # VACUUM cannot run inside a transaction block.
        with bind.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                f"VACUUM (ANALYZE) {_BULK_TABLES}"
            )
        return
    else:  # a session on a caller's connection (the tests' outer transaction)
        session.execute(text(f"ANALYZE {_BULK_TABLES}"))
    session.commit()


def write_ids_file(path: Path, national_ids: dict[str, str]) -> None:
    """{ref: national ID} as JSON, readable by the owner only (benchmark scripts)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(national_ids, handle)


def _read_password(password_stdin: bool) -> tuple[str, bool]:
    """The shared password and whether it was generated here (and so may be printed)."""
    from models.accounts import check_password_rules
    from models.errors import ValidationFailed

    if not password_stdin:
        return secrets.token_urlsafe(18), True
    password = sys.stdin.readline().rstrip("\r\n")
    try:
        check_password_rules(password)
    except ValidationFailed as exc:
        raise click.ClickException(str(exc)) from exc
    return password, False


@click.command(
    "seed",
    help=(
        "Fill the database with made-up units, staff (every role) and participants with "
        "synthetic ID numbers, for load tests. Never run it against a production database."
    ),
)
@click.option(
    "--participants",
    "participant_count",
    default=1000,
    show_default=True,
    type=click.IntRange(0, 10_000_000),
    help="How many participants to create.",
)
@click.option(
    "--units",
    "unit_count",
    default=1,
    show_default=True,
    type=click.IntRange(1, 1000),
    help="How many refugee-service units; participants are spread evenly over them.",
)
@click.option(
    "--caseload",
    default=DEFAULT_CASELOAD,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Participants per advisor: each unit gets enough advisors (at least two).",
)
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password every seeded user gets from standard input (else a random one "
    "is printed).",
)
@click.option(
    "--json",
    "json_output",
    is_flag=True,
    help="Print only a JSON list of the created users (email, role, unit) on standard output.",
)
@click.option("--seed", "random_seed", type=int, default=None, help="Random seed, to repeat a run.")
@click.option("--batch-size", default=BATCH_SIZE, hidden=True, type=click.IntRange(1, 100_000))
@click.option(
    "--ids-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    hidden=True,
    help="Benchmarks only: write {ref: national ID} of the created participants here (0600).",
)
@click.option("--plans", is_flag=True, help="Give everyone in the programme a plan.")
@click.option(
    "--tasks",
    "tasks_per_participant",
    default=0,
    show_default=True,
    type=click.IntRange(0, 100),
    help="Tasks per participant, for their primary advisor (some done, some overdue).",
)
@click.option(
    "--follow-ups",
    "follow_ups_per_participant",
    default=0,
    show_default=True,
    type=click.IntRange(0, 100),
    help="Follow-ups per participant.",
)
@click.option(
    "--attendance-weeks",
    default=0,
    show_default=True,
    type=click.IntRange(0, 104),
    help="Enrol everyone in the programme in classes of 25 with this many weeks of attendance.",
)
@click.option(
    "--outcomes",
    is_flag=True,
    help="Record what the outcome figures read: programme ends for those who ended, test "
    "results, placements and leave.",
)
@with_appcontext
def seed_command(
    participant_count: int,
    unit_count: int,
    caseload: int,
    password_stdin: bool,
    json_output: bool,
    random_seed: int | None,
    batch_size: int,
    ids_file: Path | None,
    plans: bool,
    tasks_per_participant: int,
    follow_ups_per_participant: int,
    attendance_weeks: int,
    outcomes: bool,
) -> None:
    from app.database import db
    from models.accounts import hash_password
    from models.policy import Actor

    def say(message: str) -> None:
        click.echo(message, err=json_output)

    password, generated = _read_password(password_stdin)
    started = time.perf_counter()
    session = db()
    rng = random.Random(random_seed)  # noqa: S311 - made-up data, not secrets
    today = local_today()
    per_unit = math.ceil(participant_count / unit_count)
    units, users = create_staff(
        session,
        unit_count=unit_count,
        advisors_per_unit=max(2, math.ceil(per_unit / caseload)),
        password_hash=hash_password(password),  # once: argon2 is slow on purpose
        rng=rng,
    )
    staff_seconds = time.perf_counter() - started

    writer = ParticipantWriter(session, today, batch_size=batch_size, keep_ids=ids_file is not None)
    factory = PersonFactory(rng, today, endings=outcomes)
    by_id = {u.unit.id: u.municipality for u in units}
    plan = ((where, by_id[where.unit_id]) for where in assignments(units, participant_count, rng))
    participants_started = time.perf_counter()
    written = load_participants(writer, factory, plan)
    Actor.system().record(
        session,
        "seed",
        None,
        object_type="participant",
        field_categories=(
            f"units:{len(units)}",
            f"users:{len(users)}",
            f"participants:{written}",
        ),
    )
    session.commit()
    finished = time.perf_counter()
    if plans or tasks_per_participant or follow_ups_per_participant:
        from app.seed_work import seed_work

        work = seed_work(
            session,
            today,
            rng,
            plans=plans,
            tasks_per_participant=tasks_per_participant,
            follow_ups_per_participant=follow_ups_per_participant,
        )
        say(
            f"Case work: {work.plans:,} plans, {work.tasks:,} tasks, {work.follow_ups:,} "
            f"follow-ups in {time.perf_counter() - finished:.2f} s."
        )
    if attendance_weeks:
        from app.seed_language import seed_language

        began = time.perf_counter()
        language = seed_language(session, today, rng, weeks=attendance_weeks)
        say(
            f"Language training: {language.classes:,} classes, {language.enrolments:,} "
            f"enrolments, {language.attendances:,} attendance rows in "
            f"{time.perf_counter() - began:.2f} s."
        )
    if outcomes:
        from app.seed_work import seed_outcomes

        began = time.perf_counter()
        ended = seed_outcomes(session, today, rng)
        say(
            f"Outcomes: {ended.programme_ends:,} programme ends, {ended.test_results:,} test "
            f"results, {ended.placements:,} placements, {ended.leaves:,} leaves in "
            f"{time.perf_counter() - began:.2f} s."
        )
    refresh_statistics(session)
    if ids_file is not None:
        write_ids_file(ids_file, writer.national_ids)

    participant_seconds = finished - participants_started
    rate = written / participant_seconds if participant_seconds > 0 else 0.0
    if json_output:
        click.echo(json.dumps([dataclasses.asdict(u) for u in users]))
    say(
        f"Seeded {len(units)} units and {len(users)} users in {staff_seconds:.2f} s; "
        f"{written:,} participants in {participant_seconds:.2f} s ({rate:,.0f} participants/s) "
        f"on {session.get_bind().dialect.name}."
    )
    if generated:
        say(f"Every seeded user has the password: {password}")
    if not json_output:
        shown: set[str] = set()
        for seeded_user in users:
            if seeded_user.role not in shown:
                shown.add(seeded_user.role)
                say(f"  {seeded_user.role:<8} {seeded_user.email}  ({seeded_user.unit})")
        say(f"  ... {len(users)} users in all; --json lists them.")
