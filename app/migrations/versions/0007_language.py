"""Language training: classes, enrolments, attendance, leave, progress, tests.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.base
import models.crypto

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "language_classes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "level",
            sa.Enum(
                "below_a1",
                "A1",
                "A2",
                "B1",
                "B2",
                "C1",
                name="cefrlevel",
                native_enum=False,
                length=10,
            ),
            nullable=True,
        ),
        sa.Column("weekdays", sa.String(length=20), nullable=False),
        sa.Column("lesson_minutes", sa.Integer(), nullable=False),
        sa.Column("lessons_per_day", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("room", sa.String(length=60), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ref", sa.String(length=24), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_language_classes_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_language_classes")),
        sa.UniqueConstraint("ref", name=op.f("uq_language_classes_ref")),
    )
    with op.batch_alter_table("language_classes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_language_classes_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "class_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("planned_minutes", sa.Integer(), nullable=False),
        sa.Column("saved_by_id", sa.Integer(), nullable=True),
        sa.Column("saved_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ref", sa.String(length=24), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["class_id"],
            ["language_classes.id"],
            name=op.f("fk_class_sessions_class_id_language_classes"),
        ),
        sa.ForeignKeyConstraint(
            ["saved_by_id"], ["users.id"], name=op.f("fk_class_sessions_saved_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_class_sessions")),
        sa.UniqueConstraint("class_id", "held_on", name=op.f("uq_class_sessions_class_id")),
        sa.UniqueConstraint("ref", name=op.f("uq_class_sessions_ref")),
    )
    with op.batch_alter_table("class_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_class_sessions_held_on"), ["held_on"], unique=False)

    op.create_table(
        "class_teachers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["class_id"],
            ["language_classes.id"],
            name=op.f("fk_class_teachers_class_id_language_classes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_class_teachers_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_class_teachers")),
        sa.UniqueConstraint("class_id", "user_id", name=op.f("uq_class_teachers_class_id")),
    )
    with op.batch_alter_table("class_teachers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_class_teachers_user_id"), ["user_id"], unique=False)

    op.create_table(
        "enrolments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column(
            "end_reason",
            sa.Enum(
                "moved", "left", "completed", name="enrolmentend", native_enum=False, length=20
            ),
            nullable=True,
        ),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ref", sa.String(length=24), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["class_id"],
            ["language_classes.id"],
            name=op.f("fk_enrolments_class_id_language_classes"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_enrolments_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_enrolments_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolments")),
        sa.UniqueConstraint("ref", name=op.f("uq_enrolments_ref")),
    )
    with op.batch_alter_table("enrolments", schema=None) as batch_op:
        batch_op.create_index("ix_enrolments_class_active", ["class_id", "ends_on"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_enrolments_participant_id"), ["participant_id"], unique=False
        )

    op.create_table(
        "language_leaves",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column(
            "leave_type",
            sa.Enum(
                "parental",
                "illness",
                "work",
                "education",
                "other",
                name="leavetype",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ref", sa.String(length=24), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_language_leaves_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_language_leaves_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_language_leaves")),
        sa.UniqueConstraint("ref", name=op.f("uq_language_leaves_ref")),
    )
    with op.batch_alter_table("language_leaves", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_language_leaves_participant_id"), ["participant_id"], unique=False
        )

    op.create_table(
        "language_test_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "norwegian",
                "social_studies",
                "sfi_course",
                "orientation",
                name="testkind",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("taken_on", sa.Date(), nullable=False),
        sa.Column(
            "skill",
            sa.Enum(
                "listening",
                "reading",
                "writing",
                "oral",
                name="skill",
                native_enum=False,
                length=20,
            ),
            nullable=True,
        ),
        sa.Column(
            "level",
            sa.Enum(
                "below_a1",
                "A1",
                "A2",
                "B1",
                "B2",
                "C1",
                name="cefrlevel",
                native_enum=False,
                length=10,
            ),
            nullable=True,
        ),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("max_score", sa.Integer(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column(
            "study_path",
            sa.Enum("1", "2", "3", name="studypath", native_enum=False, length=2),
            nullable=True,
        ),
        sa.Column(
            "course",
            sa.Enum("A", "B", "C", "D", name="sficourse", native_enum=False, length=2),
            nullable=True,
        ),
        sa.Column(
            "grade",
            sa.Enum("A", "B", "C", "D", "E", "F", name="sfigrade", native_enum=False, length=2),
            nullable=True,
        ),
        sa.Column("hours", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ref", sa.String(length=24), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_language_test_results_created_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_language_test_results_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_language_test_results")),
        sa.UniqueConstraint("ref", name=op.f("uq_language_test_results_ref")),
    )
    with op.batch_alter_table("language_test_results", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_language_test_results_participant_id"), ["participant_id"], unique=False
        )

    op.create_table(
        "progress_estimates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column(
            "skill",
            sa.Enum(
                "listening",
                "reading",
                "writing",
                "oral",
                name="skill",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column(
            "level",
            sa.Enum(
                "below_a1",
                "A1",
                "A2",
                "B1",
                "B2",
                "C1",
                name="cefrlevel",
                native_enum=False,
                length=10,
            ),
            nullable=False,
        ),
        sa.Column("assessed_on", sa.Date(), nullable=False),
        sa.Column("comment", models.crypto.Sealed(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ref", sa.String(length=24), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_progress_estimates_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_progress_estimates_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_progress_estimates")),
        sa.UniqueConstraint("ref", name=op.f("uq_progress_estimates_ref")),
    )
    with op.batch_alter_table("progress_estimates", schema=None) as batch_op:
        batch_op.create_index(
            "ix_progress_estimates_participant_on", ["participant_id", "assessed_on"], unique=False
        )

    op.create_table(
        "attendances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "present",
                "excused",
                "unexcused",
                "leave",
                name="attendancestatus",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column(
            "reason",
            sa.Enum(
                "illness",
                "child_illness",
                "appointment",
                "work_or_interview",
                "family",
                "other",
                name="absencereason",
                native_enum=False,
                length=30,
            ),
            nullable=True,
        ),
        sa.Column("planned_minutes", sa.Integer(), nullable=False),
        sa.Column("attended_minutes", sa.Integer(), nullable=False),
        sa.Column("programme_minutes", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_attendances_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["class_sessions.id"],
            name=op.f("fk_attendances_session_id_class_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attendances")),
        sa.UniqueConstraint("session_id", "participant_id", name=op.f("uq_attendances_session_id")),
    )
    with op.batch_alter_table("attendances", schema=None) as batch_op:
        batch_op.create_index(
            "ix_attendances_participant_held", ["participant_id", "held_on"], unique=False
        )

    op.create_table(
        "absence_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("crossed_on", sa.Date(), nullable=False),
        sa.Column("cleared_on", sa.Date(), nullable=True),
        sa.Column("rate_percent", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_absence_alerts_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
            name=op.f("fk_absence_alerts_task_id_tasks"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_absence_alerts")),
        sa.UniqueConstraint(
            "participant_id", "number", name=op.f("uq_absence_alerts_participant_id")
        ),
    )
    op.create_table(
        "attendance_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attendance_id", sa.Integer(), nullable=False),
        sa.Column(
            "old_status",
            sa.Enum(
                "present",
                "excused",
                "unexcused",
                "leave",
                name="attendancestatus",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("old_minutes", sa.Integer(), nullable=False),
        sa.Column(
            "new_status",
            sa.Enum(
                "present",
                "excused",
                "unexcused",
                "leave",
                name="attendancestatus",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("new_minutes", sa.Integer(), nullable=False),
        sa.Column("changed_by_id", sa.Integer(), nullable=True),
        sa.Column("changed_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["attendance_id"],
            ["attendances.id"],
            name=op.f("fk_attendance_changes_attendance_id_attendances"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["changed_by_id"], ["users.id"], name=op.f("fk_attendance_changes_changed_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attendance_changes")),
    )
    with op.batch_alter_table("attendance_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_attendance_changes_attendance_id"), ["attendance_id"], unique=False
        )


def downgrade() -> None:
    # Indexes go with their tables; children before parents.
    op.drop_table("attendance_changes")
    op.drop_table("absence_alerts")
    op.drop_table("attendances")
    op.drop_table("progress_estimates")
    op.drop_table("language_test_results")
    op.drop_table("language_leaves")
    op.drop_table("enrolments")
    op.drop_table("class_teachers")
    op.drop_table("class_sessions")
    op.drop_table("language_classes")
