"""Model registry: where a trained model's artefact is kept and what it was trained from.

Revision ID: 0010_gateway2
Revises: 0009_dashboard
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_gateway2"
down_revision = "0009_dashboard"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("model_registry") as batch:
        batch.add_column(sa.Column("artefact", sa.String(500), nullable=True))
        batch.add_column(sa.Column("artefact_sha256", sa.String(64), nullable=True))
        batch.add_column(sa.Column("training", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("model_registry") as batch:
        batch.drop_column("training")
        batch.drop_column("artefact_sha256")
        batch.drop_column("artefact")
