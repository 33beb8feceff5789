"""DPO dashboard: user accounts, login sessions, recorded compliance scans (the score trend).

Revision ID: 0009_dashboard
Revises: 0008
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_dashboard"
down_revision = "0008"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "dashboard_users",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", _TS, nullable=True),
        sa.Column("last_login_at", _TS, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("disabled_at", _TS, nullable=True),
    )
    op.create_table(
        "dashboard_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(40), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("last_seen_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("revoked_at", _TS, nullable=True),
    )
    op.create_index("ix_dashboard_sessions_user_id", "dashboard_sessions", ["user_id"])
    op.create_index("ix_dashboard_sessions_expires_at", "dashboard_sessions", ["expires_at"])
    op.create_table(
        "compliance_scans",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("high", sa.Integer(), nullable=False),
        sa.Column("medium", sa.Integer(), nullable=False),
        sa.Column("low", sa.Integer(), nullable=False),
        sa.Column("areas", sa.Text(), nullable=False),
        sa.Column("rules_version", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("findings", sa.Text(), nullable=False),
    )
    op.create_index("ix_compliance_scans_created_at", "compliance_scans", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_compliance_scans_created_at", "compliance_scans")
    op.drop_table("compliance_scans")
    op.drop_index("ix_dashboard_sessions_expires_at", "dashboard_sessions")
    op.drop_index("ix_dashboard_sessions_user_id", "dashboard_sessions")
    op.drop_table("dashboard_sessions")
    op.drop_table("dashboard_users")
