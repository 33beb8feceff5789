"""Consent: notice versions, events (denormalised) and the current-state projection.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "consent_notices",
        sa.Column("version", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("purposes", sa.Text(), nullable=False),
        sa.Column("effective_at", _TS, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "consent_events",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("seq", sa.BigInteger(), nullable=False, unique=True),
        sa.Column("subject", sa.String(40), nullable=False),
        sa.Column("purpose", sa.String(200), nullable=False),
        sa.Column("data_use", sa.String(200), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("mechanism", sa.String(32), nullable=False),
        sa.Column("jurisdiction", sa.String(16), nullable=False),
        sa.Column("notice_version", sa.String(64), nullable=True),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.Column("validity", sa.Text(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_index("ix_consent_events_subject", "consent_events", ["subject"])
    op.create_index("ix_consent_events_created_at", "consent_events", ["created_at"])
    op.create_table(
        "consent_state",
        sa.Column("subject", sa.String(40), primary_key=True),
        sa.Column("purpose", sa.String(200), primary_key=True),
        sa.Column("event_id", sa.String(40), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("mechanism", sa.String(32), nullable=False),
        sa.Column("jurisdiction", sa.String(16), nullable=False),
        sa.Column("notice_version", sa.String(64), nullable=True),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("consent_state")
    op.drop_index("ix_consent_events_created_at", table_name="consent_events")
    op.drop_index("ix_consent_events_subject", table_name="consent_events")
    op.drop_table("consent_events")
    op.drop_table("consent_notices")
