"""`veiviser seed` and the synthetic people it (and the demo) is made of."""

from __future__ import annotations

import json
import os
import random
import stat
from collections import Counter
from pathlib import Path
from typing import Any

import pyotp
import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.cli import cli
from app.seed import EMAIL_DOMAIN, PersonFactory, synthetic_national_id
from models.accounts import Membership, Role, Unit, User
from models.audit import AuditEvent
from models.base import local_today, utcnow
from models.codes import Country, ParticipantStatus
from models.errors import ValidationFailed
from models.identity import IdKind, parse_national_id
from models.participants import (
    Participant,
    ParticipantInput,
    clean_input,
    find_by_identifier,
    fold_name,
    refresh_deadlines,
)
from tests.conftest import PASSWORD, csrf_token, is_postgres, log_in


def invoke(app: Flask, args: list[str], input: str | None = None) -> Any:
    return CliRunner().invoke(cli, args, input=input, obj=ScriptInfo(create_app=lambda: app))


def seed(app: Flask, *args: str) -> tuple[Any, list[dict[str, str]]]:
    result = invoke(app, ["seed", "--password-stdin", "--json", *args], input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    return result, json.loads(result.stdout)


def _participants_of(db_session: Session, unit_names: set[str]) -> list[Participant]:
    return list(
        db_session.scalars(
            select(Participant)
            .join(Unit, Unit.id == Participant.unit_id)
            .where(Unit.name.in_(unit_names))
        )
    )


def test_seed_creates_every_role_in_every_unit(app: Flask, db_session: Session) -> None:
    """Does `seed --json` list a leader, two advisors, a teacher and a partner per unit, one
    admin overall, and give every advisor participants? Yes."""
    result, users = seed(app, "--participants", "40", "--units", "2")
    assert all(set(u) == {"email", "role", "unit"} for u in users)
    assert all(u["email"].endswith("@" + EMAIL_DOMAIN) for u in users)
    assert PASSWORD not in result.output
    units = {u["unit"] for u in users}
    assert len(units) == 2
    roles = Counter((u["unit"], u["role"]) for u in users)
    for unit in units:
        assert roles[unit, "leader"] >= 1
        assert roles[unit, "advisor"] >= 2
        assert roles[unit, "teacher"] >= 1
        assert roles[unit, "partner"] >= 1
    assert sum(1 for u in users if u["role"] == "admin") == 1

    for entry in users:
        user = db_session.scalar(select(User).where(User.email == entry["email"]))
        assert user is not None
        assert user.has_role(Role(entry["role"]))
        assert {m.unit.name for m in user.memberships} == {entry["unit"]}
        if entry["role"] == "advisor":
            caseload = db_session.scalar(
                select(func.count(Participant.id)).where(
                    or_(
                        Participant.primary_advisor_id == user.id,
                        Participant.secondary_advisor_id == user.id,
                    )
                )
            )
            assert caseload, f"{entry['email']} has no participants"
    assert len(_participants_of(db_session, units)) == 40
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "seed"))
    assert event is not None and event.actor_role == "system"
    assert "participants:40" in (event.field_categories or "")


def test_seeded_participants_decrypt_and_are_found_by_their_numbers(
    app: Flask, db_session: Session, tmp_path: Path
) -> None:
    """Do seeded names and numbers decrypt, their blind indexes find them, and the stored
    deadline equal what the model computes? Yes."""
    ids_file = tmp_path / "ids.json"
    _result, users = seed(app, "--participants", "30", "--ids-file", str(ids_file))
    assert stat.S_IMODE(os.stat(ids_file).st_mode) == 0o600
    national_ids = json.loads(ids_file.read_text())
    participants = _participants_of(db_session, {u["unit"] for u in users})
    assert len(participants) == 30
    today = local_today()
    for participant in participants:
        assert participant.given_name and participant.family_name
        assert participant.search_name == fold_name(
            " ".join(
                part or ""
                for part in (
                    participant.given_name,
                    participant.family_name,
                    participant.preferred_name,
                )
            )
        )
        assert participant.national_id or participant.duf_number
        assert participant.birth_date is not None
        if participant.national_id:
            assert national_ids[participant.ref] == participant.national_id
            parsed = parse_national_id(participant.national_id, "NO", allow_synthetic=True)
            assert parsed.kind is IdKind.NO_SYNTHETIC
            assert parsed.birth_date == participant.birth_date
            found = find_by_identifier(db_session, participant.national_id, Country.NORWAY)
            assert participant in found
        else:
            assert participant.ref not in national_ids
        if participant.duf_number:
            assert participant in find_by_identifier(
                db_session, participant.duf_number, Country.NORWAY
            )
        stored = (participant.next_deadline_on, participant.next_deadline_kind)
        refresh_deadlines(participant, today)
        assert (participant.next_deadline_on, participant.next_deadline_kind) == stored
    db_session.rollback()


def test_seeded_password_logs_in(app: Flask, client: Any, db_session: Session) -> None:
    """Does the password given on stdin log a seeded user in (on to MFA enrolment)? Yes."""
    _result, users = seed(app, "--participants", "4")
    advisor = next(u for u in users if u["role"] == "advisor")
    response = client.post(
        "/login",
        data={"email": advisor["email"], "password": PASSWORD, "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/account/mfa")


def test_seed_twice_keeps_logins_apart(app: Flask, db_session: Session) -> None:
    """Does a second run get new e-mails and unit names instead of crashing? Yes."""
    _first, first = seed(app, "--participants", "4")
    _second, second = seed(app, "--participants", "4")
    assert not {u["email"] for u in first} & {u["email"] for u in second}
    assert not {u["unit"] for u in first} & {u["unit"] for u in second}


def test_seed_without_stdin_prints_a_random_password(app: Flask, db_session: Session) -> None:
    """Without --password-stdin, is the generated password printed with a summary? Yes."""
    result = invoke(app, ["seed", "--participants", "2"])
    assert result.exit_code == 0, result.output
    assert "participants/s" in result.output
    line = next(line for line in result.output.splitlines() if "password" in line)
    password = line.rsplit(" ", 1)[1]
    email = next(w for w in result.output.split() if w.startswith("advisor1."))
    user = db_session.scalar(select(User).where(User.email == email))
    assert user is not None and len(password) >= 20


def test_seed_refuses_a_weak_password(app: Flask, db_session: Session) -> None:
    """Is a guessable password on stdin refused before anything is written? Yes."""
    before = db_session.scalar(select(func.count(Membership.id)))
    result = invoke(app, ["seed", "--participants", "2", "--password-stdin"], input="passord123\n")
    assert result.exit_code == 1
    assert db_session.scalar(select(func.count(Membership.id))) == before


def test_synthetic_people_pass_the_registration_rules() -> None:
    """Would the registration form accept every generated person (with synthetic IDs on),
    and refuse their numbers on a production site? Yes, and yes."""
    today = local_today()
    factory = PersonFactory(random.Random(7), today)
    origins_seen = set()
    for _ in range(400):
        person = factory.make("Bergen")
        clean = clean_input(
            ParticipantInput(
                given_name=person.given_name,
                family_name=person.family_name,
                preferred_name=person.preferred_name or "",
                national_id=person.national_id or "",
                duf_number=person.duf_number or "",
                birth_date=person.birth_date,
                sex=person.sex,
                email=person.email or "",
                languages=list(person.languages),
                interpreter_needed=person.interpreter_language is not None,
                interpreter_language=person.interpreter_language or "",
                permit_category=person.permit_category,
                permit_granted_on=person.permit_granted_on,
                arrival_on=person.arrival_on,
                settlement_municipality=person.settlement_municipality or "",
                settlement_on=person.settlement_on,
            ),
            today,
            allow_synthetic_ids=True,
        )
        assert clean.national_id == person.national_id
        assert 1960 <= person.birth_date.year <= 2007
        assert person.arrival_on.year >= 2023
        assert person.permit_granted_on <= person.settlement_on
        assert person.arrival_on <= person.settlement_on
        origins_seen.add(person.languages[0])
        if person.national_id:
            with pytest.raises(ValidationFailed):
                parse_national_id(person.national_id, "NO", allow_synthetic=False)
    assert len(origins_seen) >= 6


def test_synthetic_national_id_check_digits() -> None:
    """Month + 80, day + 40 for a D-number, and both check digits right? Yes."""
    from datetime import date

    number = synthetic_national_id(date(1990, 5, 17), 123)
    assert number is not None and number.startswith("178590123")
    assert parse_national_id(number, "NO", allow_synthetic=True).birth_date == date(1990, 5, 17)
    d_number = synthetic_national_id(date(2004, 12, 1), 512, d_number=True)
    assert d_number is not None and d_number.startswith("419204512")
    assert parse_national_id(d_number, "NO", allow_synthetic=True).birth_date == date(2004, 12, 1)


@pytest.mark.skipif(is_postgres(), reason="the demo runs on SQLite only")
def test_demo_loads_participants_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Does `veiviser demo` load made-up participants over two advisors and another unit,
    only into an empty database? Yes."""
    from app import create_app

    monkeypatch.setenv("VEIVISER_INSTANCE_PATH", str(tmp_path / "demo"))
    monkeypatch.delenv("VEIVISER_DATABASE_URL", raising=False)
    runner = CliRunner()
    first = runner.invoke(cli, ["demo", "--no-serve", "--password", PASSWORD])
    assert first.exit_code == 0, first.output
    # Every made-up story passes the rules it is written through.
    assert "Wrote plans, follow-ups, tasks and decisions for 10 of them." in first.output
    assert "Enrolled 10 of them in a language class with attendance." in first.output
    assert "Recorded housing and work placements for 6 of them." in first.output
    assert "Ended the programme of 12 more, for the outcome figures." in first.output
    again = runner.invoke(cli, ["demo", "--no-serve", "--password", PASSWORD])
    assert again.exit_code == 0, again.output
    assert "Wrote plans" not in again.output

    app = create_app({"DEMO": True, "REQUIRE_MFA": False, "SESSION_COOKIE_SECURE": False})
    try:
        with app.app_context():
            from app.database import db

            session = db()
            per_unit = dict(
                session.execute(
                    select(Unit.name, func.count(Participant.id))
                    .join(Participant, Participant.unit_id == Unit.id)
                    .group_by(Unit.name)
                ).all()
            )
            assert 50 <= sum(per_unit.values()) <= 70
            assert per_unit["Flyktningtjenesten"] > 40
            assert sum(n for name, n in per_unit.items() if name != "Flyktningtjenesten") > 0
            for email in ("advisor@demo.veiviser.no", "advisor2@demo.veiviser.no"):
                advisor = session.scalar(select(User).where(User.email == email))
                assert advisor is not None
                assert session.scalar(
                    select(func.count(Participant.id)).where(
                        Participant.primary_advisor_id == advisor.id
                    )
                )
            some = session.scalars(select(Participant).limit(5)).all()
            assert all(p.display_name != "—" for p in some)
    finally:
        app.extensions["veiviser"].engine.dispose()


def test_seed_case_work_is_sealed_like_the_operations_seal_it(
    app: Flask, db_session: Session
) -> None:
    """Do seeded plans, versions, tasks and follow-ups decrypt, and does a seeded plan
    version read like one the plan page wrote? Yes."""
    import json as jsonlib

    from models.followups import FollowUp
    from models.plans import Plan, PlanElement, PlanVersion
    from models.tasks import Task

    _result, users = seed(
        app, "--participants", "20", "--plans", "--tasks", "2", "--follow-ups", "3"
    )
    participants = _participants_of(db_session, {u["unit"] for u in users})
    ids = [p.id for p in participants]
    in_programme = [p for p in participants if p.programme_start_on is not None]
    assert in_programme, "the factory puts some participants in the programme"
    plans = list(db_session.scalars(select(Plan).where(Plan.participant_id.in_(ids))))
    assert len(plans) == len(in_programme)
    for plan in plans:
        assert plan.long_term_goal
        version = db_session.scalar(select(PlanVersion).where(PlanVersion.plan_id == plan.id))
        assert version is not None and version.reason
        snapshot = jsonlib.loads(version.snapshot_json)
        assert snapshot["end_goal"] == plan.end_goal.value
        stored = db_session.scalars(select(PlanElement).where(PlanElement.plan_id == plan.id))
        assert {e["ref"] for e in snapshot["elements"]} == {e.ref for e in stored}
    tasks = list(db_session.scalars(select(Task).where(Task.participant_id.in_(ids))))
    with_advisor = [p for p in participants if p.primary_advisor_id is not None]
    assert len(tasks) == 2 * len(with_advisor)
    assert all(task.title for task in tasks)
    follow_ups = list(db_session.scalars(select(FollowUp).where(FollowUp.participant_id.in_(ids))))
    assert len(follow_ups) == 3 * len(participants)
    assert all(f.summary for f in follow_ups)
    db_session.rollback()


def test_seed_language_training_fills_registers_a_teacher_can_open(
    app: Flask, client: Any, db_session: Session
) -> None:
    """Are seeded participants in classes of at most 25 with a register per session day,
    and does the unit's teacher reach the class and its register? Yes."""
    from models.language import Attendance, ClassSession, Enrolment, LanguageClass

    _result, users = seed(app, "--participants", "60", "--attendance-weeks", "2")
    participants = _participants_of(db_session, {u["unit"] for u in users})
    learners = {p.id for p in participants if p.programme_start_on is not None}
    enrolments = list(
        db_session.scalars(select(Enrolment).where(Enrolment.participant_id.in_(learners)))
    )
    assert {e.participant_id for e in enrolments} == learners
    classes = {e.class_id for e in enrolments}
    sizes = [sum(1 for e in enrolments if e.class_id == c) for c in classes]
    assert max(sizes) <= 25
    sessions = list(
        db_session.scalars(select(ClassSession).where(ClassSession.class_id.in_(classes)))
    )
    rows = db_session.scalar(
        select(func.count(Attendance.id)).where(Attendance.participant_id.in_(learners))
    )
    assert sessions and rows == sum(
        sum(1 for e in enrolments if e.class_id == s.class_id) for s in sessions
    )
    email = next(u["email"] for u in users if u["role"] == "teacher")
    teacher = db_session.scalars(select(User).where(User.email == email)).one()
    teacher.totp_secret = pyotp.random_base32()  # enrolled, as the gate requires
    teacher.mfa_enrolled_at = utcnow()
    log_in(client, teacher, db_session)
    one = db_session.scalars(select(LanguageClass).where(LanguageClass.id.in_(classes))).first()
    assert one is not None
    assert one.name in client.get("/classes/").get_data(as_text=True)
    day = sessions[0].held_on.isoformat()
    assert client.get(f"/classes/{one.id}/attendance?on={day}").status_code == 200
    db_session.rollback()


def test_seed_outcomes_give_the_figures_something_to_count(app: Flask, db_session: Session) -> None:
    """Does `--outcomes` record a programme end for exactly the ended participants, in
    their unit and on their end date, with test results, placements, leave and agreed
    plan versions beside them, so a unit's outcome report is not empty? Yes."""
    from models.decisions import ProgrammeEnd
    from models.language import Leave, TestKind, TestResult
    from models.outcomes import unit_report
    from models.placements import Placement, PlacementStatus
    from models.plans import PlanVersion

    _result, users = seed(app, "--participants", "400", "--plans", "--outcomes", "--seed", "7")
    participants = _participants_of(db_session, {u["unit"] for u in users})
    ids = [p.id for p in participants]
    ended = {p.id: p for p in participants if p.status is ParticipantStatus.ENDED}
    assert len(ended) >= 20, "the factory ends a fair share of the programmes"
    ends = list(
        db_session.scalars(select(ProgrammeEnd).where(ProgrammeEnd.participant_id.in_(ids)))
    )
    assert {e.participant_id for e in ends} == set(ended)
    for end in ends:
        person = ended[end.participant_id]
        assert end.ended_on == person.programme_end_on
        assert end.unit_id == person.unit_id
        if end.activity_12m is not None:
            assert end.activity_12m_on is not None and end.activity_12m_on >= end.twelve_month_from
    assert len({e.ended_on.year for e in ends}) >= 2, "ends spread over more than one year"
    tests = list(db_session.scalars(select(TestResult).where(TestResult.participant_id.in_(ids))))
    assert {t.kind for t in tests} == {TestKind.NORWEGIAN, TestKind.SOCIAL_STUDIES}
    for test in tests:
        person = next(p for p in participants if p.id == test.participant_id)
        assert person.programme_start_on is not None
        assert (
            person.programme_start_on <= test.taken_on <= (person.programme_end_on or local_today())
        )
    placements = list(
        db_session.scalars(select(Placement).where(Placement.participant_id.in_(ids)))
    )
    assert any(p.status is PlacementStatus.ENDED for p in placements)
    on_leave = {p.id for p in participants if p.status is ParticipantStatus.ON_LEAVE}
    leaves = list(db_session.scalars(select(Leave).where(Leave.participant_id.in_(ids))))
    assert on_leave <= {leave.participant_id for leave in leaves}
    agreed = db_session.scalars(
        select(PlanVersion).where(
            PlanVersion.participant_id.in_(ids), PlanVersion.agreed_on.is_not(None)
        )
    ).all()
    assert agreed and all(v.agreed_on and v.agreed_on <= local_today() for v in agreed)

    unit = db_session.scalars(select(Unit).where(Unit.name == users[0]["unit"])).one()
    year = max(Counter(e.ended_on.year for e in ends).items(), key=lambda kv: kv[1])[0]
    report = unit_report(db_session, unit, year, today=local_today(), threshold=0)
    cells = report.total.cells
    assert cells["work_or_education"].n == sum(1 for e in ends if e.ended_on.year == year)
    assert cells["plan_agreed"].count
    assert cells["social_studies_passed"].n and cells["days_to_start"].value
    db_session.rollback()
