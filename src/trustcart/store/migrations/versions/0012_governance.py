"""Governance: access log, access reviews, training records, ethics reviews, concerns.

Revision ID: 0012_governance
Revises: 0010_gateway2
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_governance"
down_revision = "0010_gateway2"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "access_log",
        sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("key_id", sa.String(40), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("scope", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("route", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("object", sa.String(80), nullable=True),
        sa.Column("subject", sa.String(40), nullable=True),
    )
    op.create_index("ix_access_log_key_at", "access_log", ["key_id", "at"])
    op.create_index("ix_access_log_subject", "access_log", ["subject"])
    op.create_table(
        "access_reviews",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("key_id", sa.String(40), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("reviewer", sa.String(200), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("reviewed_on", sa.Date(), nullable=False),
        sa.Column("next_due", sa.Date(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_index("ix_access_reviews_key_id", "access_reviews", ["key_id"])
    op.create_table(
        "training_records",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("person", sa.String(200), nullable=False),
        sa.Column("course", sa.String(64), nullable=False),
        sa.Column("completed_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_index("ix_training_records_person", "training_records", ["person"])
    op.create_table(
        "ethics_reviews",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("decision", sa.String(32), nullable=False),
        sa.Column("conditions", sa.Text(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("reviewer", sa.String(200), nullable=False),
        sa.Column("aia", sa.String(200), nullable=True),
        sa.Column("aia_sha256", sa.String(64), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_index("ix_ethics_reviews_model_version", "ethics_reviews", ["model", "version"])
    op.create_table(
        "concerns",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("updated_on", sa.Date(), nullable=False),
    )
    op.create_table(
        "concern_messages",
        sa.Column("concern_id", sa.String(40), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("author", sa.String(16), nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("created_on", sa.Date(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("concern_messages")
    op.drop_table("concerns")
    op.drop_index("ix_ethics_reviews_model_version", table_name="ethics_reviews")
    op.drop_table("ethics_reviews")
    op.drop_index("ix_training_records_person", table_name="training_records")
    op.drop_table("training_records")
    op.drop_index("ix_access_reviews_key_id", table_name="access_reviews")
    op.drop_table("access_reviews")
    op.drop_index("ix_access_log_subject", table_name="access_log")
    op.drop_index("ix_access_log_key_at", table_name="access_log")
    op.drop_table("access_log")
