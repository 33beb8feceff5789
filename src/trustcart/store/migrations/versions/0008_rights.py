"""Data-subject rights: requests, their open identifiers, one-time codes, outbox, tasks, packages.

Revision ID: 0008
Revises: 0006_vendors
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0006_vendors"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "rights_requests",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("jurisdiction", sa.String(16), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("statutory", sa.Boolean(), nullable=False),
        sa.Column("citation", sa.Text(), nullable=True),
        sa.Column("subject", sa.String(40), nullable=False),
        sa.Column("dedupe_key", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("needs_verification", sa.Boolean(), nullable=False),
        sa.Column("received_at", _TS, nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("acknowledge_by", sa.Date(), nullable=True),
        sa.Column("extended", sa.Boolean(), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("completed_at", _TS, nullable=True),
    )
    op.create_index("ix_rights_requests_status", "rights_requests", ["status"])
    op.create_index("ix_rights_requests_subject", "rights_requests", ["subject"])
    op.create_index("ix_rights_requests_dedupe_key", "rights_requests", ["dedupe_key"])
    op.create_index("ix_rights_requests_due_on", "rights_requests", ["due_on"])
    op.create_table(
        "rights_identities",
        sa.Column("request_id", sa.String(40), primary_key=True),
        sa.Column("kind", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(320), primary_key=True),
    )
    op.create_table(
        "rights_codes",
        sa.Column("request_id", sa.String(40), primary_key=True),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("codes_sent", sa.Integer(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "rights_outbox",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("request_id", sa.String(40), nullable=False),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_index("ix_rights_outbox_request_id", "rights_outbox", ["request_id"])
    op.create_table(
        "rights_tasks",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("request_id", sa.String(40), nullable=False),
        sa.Column("dataset", sa.String(200), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
    )
    op.create_index("ix_rights_tasks_request_id", "rights_tasks", ["request_id"])
    op.create_index("ix_rights_tasks_status", "rights_tasks", ["status"])
    op.create_table(
        "rights_packages",
        sa.Column("request_id", sa.String(40), primary_key=True),
        sa.Column("zip_bytes", sa.LargeBinary(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("rights_packages")
    op.drop_index("ix_rights_tasks_status", table_name="rights_tasks")
    op.drop_index("ix_rights_tasks_request_id", table_name="rights_tasks")
    op.drop_table("rights_tasks")
    op.drop_index("ix_rights_outbox_request_id", table_name="rights_outbox")
    op.drop_table("rights_outbox")
    op.drop_table("rights_codes")
    op.drop_table("rights_identities")
    for name in ("due_on", "dedupe_key", "subject", "status"):
        op.drop_index(f"ix_rights_requests_{name}", table_name="rights_requests")
    op.drop_table("rights_requests")
