"""Crypto-shredding: per-subject keys, and the fairness group in the decisions copy table.

Revision ID: 0005_subject_keys
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_subject_keys"
down_revision = "0004"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "subject_keys",
        sa.Column("lookup", sa.String(40), primary_key=True),
        sa.Column("token", sa.String(40), nullable=False, unique=True),
        sa.Column("key", sa.LargeBinary(32), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.add_column("decisions", sa.Column("group", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("group")
    op.drop_table("subject_keys")
