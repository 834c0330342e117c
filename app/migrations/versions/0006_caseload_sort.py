"""Caseload sort key that is never NULL, so the index gives the caseload its order.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 02:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

NO_DEADLINE = "9999-12-31"


def upgrade() -> None:
    with op.batch_alter_table("participants") as batch_op:
        batch_op.add_column(
            sa.Column(
                "deadline_sort_on",
                sa.Date(),
                nullable=False,
                server_default=sa.text(f"'{NO_DEADLINE}'"),
            )
        )
    op.execute(
        "UPDATE participants SET deadline_sort_on = next_deadline_on "
        "WHERE next_deadline_on IS NOT NULL"
    )
    with op.batch_alter_table("participants") as batch_op:
        batch_op.alter_column("deadline_sort_on", server_default=None)
        batch_op.drop_index("ix_participants_unit_deadline")
        batch_op.drop_index("ix_participants_primary_deadline")
        batch_op.create_index(
            "ix_participants_unit_deadline_sort", ["unit_id", "deadline_sort_on", "id"]
        )
        batch_op.create_index(
            "ix_participants_primary_deadline_sort",
            ["primary_advisor_id", "deadline_sort_on", "id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("participants") as batch_op:
        batch_op.drop_index("ix_participants_primary_deadline_sort")
        batch_op.drop_index("ix_participants_unit_deadline_sort")
        batch_op.create_index(
            "ix_participants_primary_deadline",
            ["primary_advisor_id", "next_deadline_on", "id"],
        )
        batch_op.create_index(
            "ix_participants_unit_deadline", ["unit_id", "next_deadline_on", "id"]
        )
        batch_op.drop_column("deadline_sort_on")
