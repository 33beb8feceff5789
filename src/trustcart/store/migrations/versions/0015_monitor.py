"""Continuous monitoring: evaluated windows, their metric values per group, alert events.

Revision ID: 0015_monitor
Revises: 0016_keyrot
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_monitor"
down_revision = "0016_keyrot"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "monitor_results",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("monitor", sa.String(64), nullable=False),
        sa.Column("window_start", _TS, nullable=False),
        sa.Column("window_end", _TS, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("config_hash", sa.String(64), nullable=False),
        sa.Column("breaches", sa.Text(), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_index(
        "ix_monitor_results_monitor_end", "monitor_results", ["monitor", "window_end"], unique=True
    )
    op.create_table(
        "monitor_values",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("result_id", sa.String(40), nullable=False),
        sa.Column("monitor", sa.String(64), nullable=False),
        sa.Column("window_end", _TS, nullable=False),
        sa.Column("metric", sa.String(64), nullable=False),
        sa.Column("group_label", sa.String(300), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("ci_low", sa.Float(), nullable=True),
        sa.Column("ci_high", sa.Float(), nullable=True),
        sa.Column("count", sa.BigInteger(), nullable=True),
    )
    op.create_index("ix_monitor_values_result_id", "monitor_values", ["result_id"])
    op.create_index(
        "ix_monitor_values_series", "monitor_values", ["monitor", "metric", "window_end"]
    )
    op.create_table(
        "monitor_alerts",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("monitor", sa.String(64), nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("window_start", _TS, nullable=False),
        sa.Column("window_end", _TS, nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("breaches", sa.Text(), nullable=False),
        sa.Column("log_seq", sa.BigInteger(), nullable=False),
        sa.Column("outbox_status", sa.String(16), nullable=False),
        sa.Column("webhook_status", sa.String(16), nullable=False),
        sa.Column("webhook_attempts", sa.Integer(), nullable=False),
        sa.Column("webhook_error", sa.String(300), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_index("ix_monitor_alerts_monitor", "monitor_alerts", ["monitor"])
    op.create_index("ix_monitor_alerts_created_at", "monitor_alerts", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_monitor_alerts_created_at", table_name="monitor_alerts")
    op.drop_index("ix_monitor_alerts_monitor", table_name="monitor_alerts")
    op.drop_table("monitor_alerts")
    op.drop_index("ix_monitor_values_series", table_name="monitor_values")
    op.drop_index("ix_monitor_values_result_id", table_name="monitor_values")
    op.drop_table("monitor_values")
    op.drop_index("ix_monitor_results_monitor_end", table_name="monitor_results")
    op.drop_table("monitor_results")
