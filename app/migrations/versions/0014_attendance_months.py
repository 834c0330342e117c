"""Monthly attendance rollup per participant, for the outcome figures' absence rate.

The unit leader's outcome page summed a unit's attendance rows of a year on every
request (about 230k rows at 100k participants, 120 ms of a 250 ms budget). The
rollup holds one row per participant and month; `save_register` keeps it current
(`models.language.refresh_attendance_months`). The upgrade fills it from the
attendance rows already saved, in one INSERT … SELECT.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 10:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# The same sums as refresh_attendance_months, written out: a migration must not change
# when the model code does later.
BACKFILL = """
INSERT INTO attendance_months
    (participant_id, month, planned_minutes, unexcused_minutes, sessions)
SELECT participant_id, {month},
       SUM(CASE WHEN status <> 'leave' THEN planned_minutes ELSE 0 END),
       SUM(CASE WHEN status = 'unexcused' THEN planned_minutes - attended_minutes ELSE 0 END),
       COUNT(*)
FROM attendances
GROUP BY participant_id, {month}
"""
MONTH = {
    "postgresql": "CAST(date_trunc('month', held_on) AS DATE)",
    "sqlite": "date(held_on, 'start of month')",
}


def upgrade() -> None:
    op.create_table(
        "attendance_months",
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("planned_minutes", sa.Integer(), nullable=False),
        sa.Column("unexcused_minutes", sa.Integer(), nullable=False),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_attendance_months_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("participant_id", "month", name=op.f("pk_attendance_months")),
    )
    month = MONTH[op.get_bind().dialect.name]
    op.execute(BACKFILL.format(month=month))


def downgrade() -> None:
    op.drop_table("attendance_months")
