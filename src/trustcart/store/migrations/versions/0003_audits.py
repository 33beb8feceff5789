"""Fairness audits: every audit run inside a workspace, with its source fingerprint.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "fairness_audits",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("source_sha256", sa.String(64), nullable=True),
        sa.Column("source_fingerprint", sa.Text(), nullable=False),
        sa.Column("parameters", sa.Text(), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
    )
    op.create_index("ix_fairness_audits_created_at", "fairness_audits", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_fairness_audits_created_at", table_name="fairness_audits")
    op.drop_table("fairness_audits")
