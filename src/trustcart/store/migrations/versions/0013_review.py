"""Human review of contested automated decisions: review cases.

Revision ID: 0013_review
Revises: 0015_monitor
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_review"
down_revision = "0015_monitor"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "review_cases",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("decision_id", sa.String(40), nullable=False, unique=True),
        sa.Column("subject", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("jurisdiction", sa.String(16), nullable=False),
        sa.Column("group", sa.String(200), nullable=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("statutory", sa.Boolean(), nullable=False),
        sa.Column("citation", sa.Text(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("assigned_to", sa.String(200), nullable=True),
        sa.Column("statement", sa.Text(), nullable=True),
        sa.Column("contact", sa.Text(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("reasons", sa.Text(), nullable=True),
        sa.Column("reviewer", sa.String(200), nullable=True),
        sa.Column("resolved_at", _TS, nullable=True),
        sa.Column("notified_at", _TS, nullable=True),
        sa.Column("updated_at", _TS, nullable=False),
    )
    op.create_index("ix_review_cases_subject", "review_cases", ["subject"])
    op.create_index("ix_review_cases_status", "review_cases", ["status"])
    op.create_index("ix_review_cases_due_on", "review_cases", ["due_on"])


def downgrade() -> None:
    op.drop_index("ix_review_cases_due_on", table_name="review_cases")
    op.drop_index("ix_review_cases_status", table_name="review_cases")
    op.drop_index("ix_review_cases_subject", table_name="review_cases")
    op.drop_table("review_cases")
