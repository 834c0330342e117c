"""Decisions and the end of the programme.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 02:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.base
import models.crypto

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

MAIN_ACTIVITY = (
    "work",
    "education",
    "work_and_education",
    "job_seeking",
    "other",
    "unknown",
)


def _activity() -> sa.Enum:
    return sa.Enum(*MAIN_ACTIVITY, name="mainactivity", native_enum=False, length=30)


def upgrade() -> None:
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column(
            "decision_type",
            sa.Enum(
                "programme",
                "plan",
                "material_plan_change",
                "extension",
                "leave",
                "benefit_deduction",
                "temporary_stop",
                "permanent_stop",
                "exemption",
                name="decisiontype",
                native_enum=False,
                length=30,
            ),
            nullable=False,
        ),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("notified_on", sa.Date(), nullable=True),
        sa.Column("appeal_due_on", sa.Date(), nullable=False),
        sa.Column("rule_set", sa.String(length=40), nullable=False),
        sa.Column("appeal_received_on", sa.Date(), nullable=True),
        sa.Column(
            "appeal_outcome",
            sa.Enum(
                "upheld",
                "changed",
                "reversed",
                "withdrawn",
                name="appealoutcome",
                native_enum=False,
                length=30,
            ),
            nullable=True,
        ),
        sa.Column("note", models.crypto.Sealed(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ref", sa.String(length=24), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_decisions_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_decisions_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
        sa.UniqueConstraint("ref", name=op.f("uq_decisions_ref")),
    )
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_decisions_participant_decided", ["participant_id", "decided_on"], unique=False
        )

    op.create_table(
        "programme_ends",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "completed",
                "interrupted",
                "stopped",
                name="programmeendkind",
                native_enum=False,
                length=30,
            ),
            nullable=False,
        ),
        sa.Column(
            "reason",
            sa.Enum(
                "goal_reached",
                "work",
                "education",
                "moved",
                "health",
                "parental_leave",
                "absence",
                "max_length",
                "own_wish",
                "other",
                name="programmeendreason",
                native_enum=False,
                length=30,
            ),
            nullable=False,
        ),
        sa.Column("activity_after", _activity(), nullable=False),
        sa.Column("activity_12m", _activity(), nullable=True),
        sa.Column("activity_12m_on", sa.Date(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("corrected_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("corrected_by_id", sa.Integer(), nullable=True),
        sa.Column("correction_reason", models.crypto.Sealed(), nullable=True),
        sa.Column("ref", sa.String(length=24), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["corrected_by_id"], ["users.id"], name=op.f("fk_programme_ends_corrected_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_programme_ends_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_programme_ends_recorded_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_programme_ends_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programme_ends")),
        sa.UniqueConstraint("participant_id", name=op.f("uq_programme_ends_participant_id")),
        sa.UniqueConstraint("ref", name=op.f("uq_programme_ends_ref")),
    )
    with op.batch_alter_table("programme_ends", schema=None) as batch_op:
        batch_op.create_index("ix_programme_ends_unit_ended", ["unit_id", "ended_on"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("programme_ends", schema=None) as batch_op:
        batch_op.drop_index("ix_programme_ends_unit_ended")
    op.drop_table("programme_ends")
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_index("ix_decisions_participant_decided")
    op.drop_table("decisions")
