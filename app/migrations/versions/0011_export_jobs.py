"""Export jobs (participant list, NIR report) with progress and a sealed file.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 04:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.base
import models.crypto

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "export_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "participant_list", "nir_report", name="exportkind", native_enum=False, length=30
            ),
            nullable=False,
        ),
        sa.Column(
            "format",
            sa.Enum("csv", "xlsx", name="exportformat", native_enum=False, length=30),
            nullable=False,
        ),
        sa.Column("purpose", models.crypto.Sealed(), nullable=True),
        sa.Column("options", sa.String(length=200), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "queued",
                "running",
                "done",
                "failed",
                name="exportstatus",
                native_enum=False,
                length=30,
            ),
            nullable=False,
        ),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("rows_done", sa.Integer(), nullable=False),
        sa.Column("file", models.crypto.Sealed(), nullable=True),
        sa.Column("filename", sa.String(length=120), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("downloaded_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("expires_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ref", sa.String(length=24), nullable=False),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["users.id"], name=op.f("fk_export_jobs_requested_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_export_jobs_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_jobs")),
        sa.UniqueConstraint("ref", name=op.f("uq_export_jobs_ref")),
    )
    op.create_index(
        op.f("ix_export_jobs_requested_by_id"), "export_jobs", ["requested_by_id"], unique=False
    )
    op.create_index(op.f("ix_export_jobs_expires_at"), "export_jobs", ["expires_at"], unique=False)
    op.create_index(
        "ix_export_jobs_unit_created", "export_jobs", ["unit_id", "created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_export_jobs_unit_created", table_name="export_jobs")
    op.drop_index(op.f("ix_export_jobs_expires_at"), table_name="export_jobs")
    op.drop_index(op.f("ix_export_jobs_requested_by_id"), table_name="export_jobs")
    op.drop_table("export_jobs")
