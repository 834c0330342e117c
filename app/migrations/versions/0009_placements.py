"""Employers, placements and evaluations.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.base
import models.crypto

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "employers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column(
            "country", sa.Enum("NO", "SE", name="country", native_enum=False), nullable=False
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("org_number", sa.String(length=20), nullable=True),
        sa.Column("industry", sa.String(length=120), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("notes", models.crypto.Sealed(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ref", sa.String(length=24), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_employers_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_employers")),
        sa.UniqueConstraint("ref", name=op.f("uq_employers_ref")),
        sa.UniqueConstraint("unit_id", "org_number", name="uq_employers_unit_org_number"),
    )
    op.create_index("ix_employers_unit_name", "employers", ["unit_id", "name"], unique=False)
    op.create_table(
        "employer_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("employer_id", sa.Integer(), nullable=False),
        sa.Column("name", models.crypto.Sealed(), nullable=True),
        sa.Column("phone", models.crypto.Sealed(), nullable=True),
        sa.Column("email", models.crypto.Sealed(), nullable=True),
        sa.Column("job_title", sa.String(length=120), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ref", sa.String(length=24), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["employer_id"],
            ["employers.id"],
            name=op.f("fk_employer_contacts_employer_id_employers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_employer_contacts")),
        sa.UniqueConstraint("ref", name=op.f("uq_employer_contacts_ref")),
    )
    op.create_index(
        op.f("ix_employer_contacts_employer_id"), "employer_contacts", ["employer_id"], unique=False
    )
    op.create_table(
        "employer_agreements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("employer_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "placement",
                "cooperation",
                "wage_subsidy",
                "other",
                name="agreementkind",
                native_enum=False,
                length=30,
            ),
            nullable=False,
        ),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("note", models.crypto.Sealed(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ref", sa.String(length=24), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["employer_id"],
            ["employers.id"],
            name=op.f("fk_employer_agreements_employer_id_employers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_employer_agreements")),
        sa.UniqueConstraint("ref", name=op.f("uq_employer_agreements_ref")),
    )
    op.create_index(
        op.f("ix_employer_agreements_employer_id"),
        "employer_agreements",
        ["employer_id"],
        unique=False,
    )
    op.create_table(
        "placements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("employer_id", sa.Integer(), nullable=False),
        sa.Column("supervisor_id", sa.Integer(), nullable=True),
        sa.Column(
            "placement_type",
            sa.Enum(
                "language_practice",
                "work_practice",
                "wage_subsidy",
                "ordinary_job",
                "apprenticeship",
                "volunteer",
                name="placementtype",
                native_enum=False,
                length=30,
            ),
            nullable=False,
        ),
        sa.Column("start_on", sa.Date(), nullable=False),
        sa.Column("end_on", sa.Date(), nullable=True),
        sa.Column("days_per_week", sa.Integer(), nullable=False),
        sa.Column(
            "hours_per_week", sa.Numeric(precision=5, scale=2, asdecimal=False), nullable=False
        ),
        sa.Column("goals", models.crypto.Sealed(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "planned",
                "ongoing",
                "ended",
                "cancelled",
                name="placementstatus",
                native_enum=False,
                length=30,
            ),
            nullable=False,
        ),
        sa.Column(
            "outcome",
            sa.Enum("unknown", "yes", "no", name="joboutcome", native_enum=False, length=30),
            nullable=False,
        ),
        sa.Column("plan_element_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ref", sa.String(length=24), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_placements_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["employer_id"], ["employers.id"], name=op.f("fk_placements_employer_id_employers")
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_placements_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["plan_element_id"],
            ["plan_elements.id"],
            name=op.f("fk_placements_plan_element_id_plan_elements"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["supervisor_id"],
            ["employer_contacts.id"],
            name=op.f("fk_placements_supervisor_id_employer_contacts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_placements")),
        sa.UniqueConstraint("ref", name=op.f("uq_placements_ref")),
    )
    op.create_index(op.f("ix_placements_employer_id"), "placements", ["employer_id"], unique=False)
    op.create_index(
        "ix_placements_participant_start",
        "placements",
        ["participant_id", "start_on"],
        unique=False,
    )
    op.create_table(
        "placement_evaluations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("placement_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("evaluated_on", sa.Date(), nullable=False),
        sa.Column("evaluated_by_id", sa.Integer(), nullable=True),
        sa.Column("ratings", sa.String(length=40), nullable=True),
        sa.Column("summary", models.crypto.Sealed(), nullable=True),
        sa.Column("next_steps", models.crypto.Sealed(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ref", sa.String(length=24), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["evaluated_by_id"],
            ["users.id"],
            name=op.f("fk_placement_evaluations_evaluated_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["placement_id"],
            ["placements.id"],
            name=op.f("fk_placement_evaluations_placement_id_placements"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_placement_evaluations_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_placement_evaluations")),
        sa.UniqueConstraint("ref", name=op.f("uq_placement_evaluations_ref")),
    )
    op.create_index(
        op.f("ix_placement_evaluations_participant_id"),
        "placement_evaluations",
        ["participant_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_placement_evaluations_placement_id"),
        "placement_evaluations",
        ["placement_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_placement_evaluations_placement_id"), table_name="placement_evaluations")
    op.drop_index(
        op.f("ix_placement_evaluations_participant_id"), table_name="placement_evaluations"
    )
    op.drop_table("placement_evaluations")
    op.drop_index(op.f("ix_placements_employer_id"), table_name="placements")
    op.drop_index("ix_placements_participant_start", table_name="placements")
    op.drop_table("placements")
    op.drop_index(op.f("ix_employer_agreements_employer_id"), table_name="employer_agreements")
    op.drop_table("employer_agreements")
    op.drop_index(op.f("ix_employer_contacts_employer_id"), table_name="employer_contacts")
    op.drop_table("employer_contacts")
    op.drop_index("ix_employers_unit_name", table_name="employers")
    op.drop_table("employers")
