"""API keys may carry a tokens-per-minute limit (prompt plus completion tokens), enforced like
their requests-per-minute limit: in the gateway, or across replicas in Redis.

Revision ID: replicas_tpm
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "replicas_tpm"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("tpm", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("tpm")
