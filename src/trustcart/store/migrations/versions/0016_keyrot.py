"""Pseudonym key rotation: key-ring metadata (no key material) and old -> new pseudonym links.

Revision ID: 0016_keyrot
Revises: 0012_governance
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_keyrot"
down_revision = "0012_governance"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "pseudonym_keys",
        sa.Column("kid", sa.String(16), primary_key=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("check", sa.String(32), nullable=False),
        sa.Column("created_at", _TS, nullable=True),
        sa.Column("retire_after", _TS, nullable=True),
        sa.Column("retired_at", _TS, nullable=True),
    )
    op.create_table(
        "pseudonym_links",
        sa.Column("pseudonym", sa.String(40), primary_key=True),
        sa.Column("linked", sa.String(40), primary_key=True),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_index("ix_pseudonym_links_linked", "pseudonym_links", ["linked"])


def downgrade() -> None:
    op.drop_index("ix_pseudonym_links_linked", table_name="pseudonym_links")
    op.drop_table("pseudonym_links")
    op.drop_table("pseudonym_keys")
