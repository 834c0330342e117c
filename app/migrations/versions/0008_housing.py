"""Housing and housing follow-up.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.base
import models.crypto

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _audit_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ref", sa.String(length=24), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    ]


def _user_keys(table: str) -> list[sa.ForeignKeyConstraint]:
    return [
        sa.ForeignKeyConstraint([column], ["users.id"], name=op.f(f"fk_{table}_{column}_users"))
        for column in ("created_by_id", "updated_by_id")
    ]


def upgrade() -> None:
    op.create_table(
        "housings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column(
            "housing_type",
            sa.Enum(
                "municipal",
                "municipal_sublet",
                "private_rental",
                "own_home",
                "temporary",
                name="housingtype",
                native_enum=False,
                length=30,
            ),
            nullable=False,
        ),
        sa.Column("municipality", sa.String(length=80), nullable=False),
        sa.Column("household_size", sa.Integer(), nullable=False),
        sa.Column("contract_start_on", sa.Date(), nullable=False),
        sa.Column("contract_end_on", sa.Date(), nullable=True),
        sa.Column("moved_out_on", sa.Date(), nullable=True),
        sa.Column("address", models.crypto.Sealed(), nullable=True),
        sa.Column("landlord", models.crypto.Sealed(), nullable=True),
        sa.Column("adaptations", models.crypto.Sealed(), nullable=True),
        *_audit_columns(),
        *_user_keys("housings"),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_housings_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_housings")),
        sa.UniqueConstraint("ref", name=op.f("uq_housings_ref")),
    )
    with op.batch_alter_table("housings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_housings_participant_start", ["participant_id", "contract_start_on"], unique=False
        )
        batch_op.create_index(
            "ix_housings_moved_out_contract_end",
            ["moved_out_on", "contract_end_on"],
            unique=False,
        )

    op.create_table(
        "housing_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("noted_on", sa.Date(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "home_visit",
                "meeting",
                "phone",
                "with_landlord",
                name="housingnotekind",
                native_enum=False,
                length=30,
            ),
            nullable=False,
        ),
        sa.Column("note", models.crypto.Sealed(), nullable=True),
        *_audit_columns(),
        *_user_keys("housing_notes"),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_housing_notes_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_housing_notes")),
        sa.UniqueConstraint("ref", name=op.f("uq_housing_notes_ref")),
    )
    with op.batch_alter_table("housing_notes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_housing_notes_participant_noted", ["participant_id", "noted_on"], unique=False
        )

    op.create_table(
        "housing_note_tasks",
        sa.Column("note_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["note_id"],
            ["housing_notes.id"],
            name=op.f("fk_housing_note_tasks_note_id_housing_notes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
            name=op.f("fk_housing_note_tasks_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("note_id", "task_id", name=op.f("pk_housing_note_tasks")),
    )


def downgrade() -> None:
    op.drop_table("housing_note_tasks")
    with op.batch_alter_table("housing_notes", schema=None) as batch_op:
        batch_op.drop_index("ix_housing_notes_participant_noted")
    op.drop_table("housing_notes")
    with op.batch_alter_table("housings", schema=None) as batch_op:
        batch_op.drop_index("ix_housings_moved_out_contract_end")
        batch_op.drop_index("ix_housings_participant_start")
    op.drop_table("housings")
