"""Index for the open tasks a user set for others.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 02:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_tasks_creator_open", "tasks", ["created_by_id", "done_at", "due_on"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_tasks_creator_open", table_name="tasks")
