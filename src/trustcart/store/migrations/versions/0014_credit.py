"""Credit: human-oversight approvals of model versions (model_oversight).

Revision ID: 0014_credit
Revises: 0013_review
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_credit"
down_revision = "0013_review"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "model_oversight",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("reviewer", sa.String(64), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("aia", sa.String(200), nullable=True),
        sa.Column("aia_sha256", sa.String(64), nullable=True),
        sa.Column("screening", sa.Text(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_index("ix_model_oversight_model_version", "model_oversight", ["model", "version"])


def downgrade() -> None:
    op.drop_index("ix_model_oversight_model_version", table_name="model_oversight")
    op.drop_table("model_oversight")
