"""Marks of events reported to the national register (NIR).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 04:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.base

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "nir_reported",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("event_kind", sa.String(length=20), nullable=False),
        sa.Column("event_key", sa.String(length=40), nullable=False),
        sa.Column("event_on", sa.Date(), nullable=False),
        sa.Column("reported_on", sa.Date(), nullable=False),
        sa.Column("reported_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_nir_reported_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reported_by_id"],
            ["users.id"],
            name=op.f("fk_nir_reported_reported_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nir_reported")),
        sa.UniqueConstraint(
            "participant_id",
            "event_kind",
            "event_key",
            name=op.f("uq_nir_reported_participant_id"),
        ),
    )


def downgrade() -> None:
    op.drop_table("nir_reported")
