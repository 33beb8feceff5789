"""Compliance records: versioned vendor, DPIA, screening and AIA records.

Revision ID: 0006_vendors
Revises: 0005_subject_keys
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_vendors"
down_revision = "0005_subject_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "compliance_records",
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_hash", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("compliance_records")
