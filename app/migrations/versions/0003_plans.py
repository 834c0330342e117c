"""Competence mapping, career guidance and the individual plan.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 02:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.base
import models.crypto

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "career_guidances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("given_on", sa.Date(), nullable=False),
        sa.Column("provider", models.crypto.Sealed(), nullable=True),
        sa.Column(
            "recommendation",
            sa.Enum(
                "work",
                "education",
                "work_and_education",
                "undecided",
                name="guidancedirection",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("summary", models.crypto.Sealed(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ref", sa.String(length=24), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_career_guidances_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_career_guidances_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_career_guidances")),
        sa.UniqueConstraint("ref", name=op.f("uq_career_guidances_ref")),
    )
    op.create_index(
        op.f("ix_career_guidances_participant_id"),
        "career_guidances",
        ["participant_id"],
        unique=False,
    )
    op.create_table(
        "competence_mappings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("mapped_on", sa.Date(), nullable=False),
        sa.Column(
            "education_level",
            sa.Enum(
                "none",
                "primary",
                "lower_secondary",
                "upper_secondary",
                "vocational",
                "higher_short",
                "higher_long",
                "unknown",
                name="educationlevel",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("education_years", sa.Integer(), nullable=True),
        sa.Column("education_country", models.crypto.Sealed(), nullable=True),
        sa.Column("education_field", models.crypto.Sealed(), nullable=True),
        sa.Column("occupation", models.crypto.Sealed(), nullable=True),
        sa.Column("work_years", sa.Integer(), nullable=True),
        sa.Column("languages", models.crypto.Sealed(), nullable=True),
        sa.Column(
            "literacy",
            sa.Enum(
                "not_literate",
                "other_script",
                "latin_script",
                "unknown",
                name="literacy",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column(
            "digital_skills",
            sa.Enum(
                "none",
                "basic",
                "good",
                "advanced",
                name="digitalskills",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("other_competence", models.crypto.Sealed(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ref", sa.String(length=24), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_competence_mappings_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_competence_mappings_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_competence_mappings")),
        sa.UniqueConstraint(
            "participant_id", "revision", name=op.f("uq_competence_mappings_participant_id")
        ),
        sa.UniqueConstraint("ref", name=op.f("uq_competence_mappings_ref")),
    )
    op.create_index(
        op.f("ix_competence_mappings_participant_id"),
        "competence_mappings",
        ["participant_id"],
        unique=False,
    )
    op.create_table(
        "plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column(
            "end_goal",
            sa.Enum(
                "work",
                "upper_secondary_completed",
                "higher_education_qualification",
                "primary_school",
                "part_of_upper_secondary",
                "other",
                name="endgoal",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("programme_start_on", sa.Date(), nullable=False),
        sa.Column("planned_end_on", sa.Date(), nullable=False),
        sa.Column(
            "hours_per_week_norm", sa.Numeric(precision=5, scale=2, asdecimal=False), nullable=False
        ),
        sa.Column("has_children_under_18", sa.Boolean(), nullable=False),
        sa.Column("language_goals", sa.String(length=80), nullable=True),
        sa.Column("long_term_goal", models.crypto.Sealed(), nullable=True),
        sa.Column("contract_text", models.crypto.Sealed(), nullable=True),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("last_reviewed_on", sa.Date(), nullable=True),
        sa.Column("review_due_on", sa.Date(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ref", sa.String(length=24), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_plans_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plans")),
        sa.UniqueConstraint("participant_id", name=op.f("uq_plans_participant_id")),
        sa.UniqueConstraint("ref", name=op.f("uq_plans_ref")),
    )
    op.create_index(op.f("ix_plans_review_due_on"), "plans", ["review_due_on"], unique=False)
    op.create_table(
        "plan_elements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column(
            "element_type",
            sa.Enum(
                "language",
                "social_studies",
                "life_skills",
                "parenting",
                "language_practice",
                "work_practice",
                "wage_subsidy",
                "upper_secondary",
                "primary_school",
                "higher_education_bridge",
                "job_seeking",
                "health",
                "other",
                name="planelementtype",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("provider_unit_id", sa.Integer(), nullable=True),
        sa.Column("start_on", sa.Date(), nullable=True),
        sa.Column("end_on", sa.Date(), nullable=True),
        sa.Column(
            "hours_per_week", sa.Numeric(precision=5, scale=2, asdecimal=False), nullable=False
        ),
        sa.Column(
            "status",
            sa.Enum(
                "planned",
                "ongoing",
                "done",
                "cancelled",
                name="elementstatus",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("note", models.crypto.Sealed(), nullable=True),
        sa.Column("ref", sa.String(length=24), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_plan_elements_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["plans.id"],
            name=op.f("fk_plan_elements_plan_id_plans"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["provider_unit_id"], ["units.id"], name=op.f("fk_plan_elements_provider_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_elements")),
        sa.UniqueConstraint("ref", name=op.f("uq_plan_elements_ref")),
    )
    op.create_index(
        op.f("ix_plan_elements_participant_id"), "plan_elements", ["participant_id"], unique=False
    )
    op.create_index(op.f("ix_plan_elements_plan_id"), "plan_elements", ["plan_id"], unique=False)
    op.create_table(
        "plan_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("reviewed_on", sa.Date(), nullable=False),
        sa.Column("next_due_on", sa.Date(), nullable=False),
        sa.Column("note", models.crypto.Sealed(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ref", sa.String(length=24), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_plan_reviews_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_plan_reviews_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["plans.id"],
            name=op.f("fk_plan_reviews_plan_id_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_reviews")),
        sa.UniqueConstraint("ref", name=op.f("uq_plan_reviews_ref")),
    )
    op.create_index(
        op.f("ix_plan_reviews_participant_id"), "plan_reviews", ["participant_id"], unique=False
    )
    op.create_index(op.f("ix_plan_reviews_plan_id"), "plan_reviews", ["plan_id"], unique=False)
    op.create_table(
        "plan_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("snapshot", models.crypto.Sealed(), nullable=True),
        sa.Column("reason", models.crypto.Sealed(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("agreed_on", sa.Date(), nullable=True),
        sa.Column("interpreter_used", sa.Boolean(), nullable=True),
        sa.Column("agreed_language", sa.String(length=3), nullable=True),
        sa.Column("agreed_by_id", sa.Integer(), nullable=True),
        sa.Column("ref", sa.String(length=24), nullable=False),
        sa.ForeignKeyConstraint(
            ["agreed_by_id"], ["users.id"], name=op.f("fk_plan_versions_agreed_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_plan_versions_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_plan_versions_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["plans.id"],
            name=op.f("fk_plan_versions_plan_id_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_versions")),
        sa.UniqueConstraint("plan_id", "number", name=op.f("uq_plan_versions_plan_id")),
        sa.UniqueConstraint("ref", name=op.f("uq_plan_versions_ref")),
    )
    op.create_index(
        op.f("ix_plan_versions_participant_id"), "plan_versions", ["participant_id"], unique=False
    )
    op.create_index(op.f("ix_plan_versions_plan_id"), "plan_versions", ["plan_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_plan_versions_plan_id"), table_name="plan_versions")
    op.drop_index(op.f("ix_plan_versions_participant_id"), table_name="plan_versions")
    op.drop_table("plan_versions")
    op.drop_index(op.f("ix_plan_reviews_plan_id"), table_name="plan_reviews")
    op.drop_index(op.f("ix_plan_reviews_participant_id"), table_name="plan_reviews")
    op.drop_table("plan_reviews")
    op.drop_index(op.f("ix_plan_elements_plan_id"), table_name="plan_elements")
    op.drop_index(op.f("ix_plan_elements_participant_id"), table_name="plan_elements")
    op.drop_table("plan_elements")
    op.drop_index(op.f("ix_plans_review_due_on"), table_name="plans")
    op.drop_table("plans")
    op.drop_index(op.f("ix_competence_mappings_participant_id"), table_name="competence_mappings")
    op.drop_table("competence_mappings")
    op.drop_index(op.f("ix_career_guidances_participant_id"), table_name="career_guidances")
    op.drop_table("career_guidances")
