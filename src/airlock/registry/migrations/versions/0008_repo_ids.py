"""Repository ids: the Hugging Face style id (`org/name`) and the commit-like revision under
which the mirror serves each admitted version (registry/repo_ids.py). Versions admitted before
this revision have none, and the mirror does not serve them until re-admitted with one.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("model_versions") as batch:
        batch.add_column(sa.Column("repo_id", sa.String(200), nullable=True))
        batch.add_column(sa.Column("revision", sa.String(40), nullable=True))
        batch.create_unique_constraint("uq_model_versions_repo_revision", ["repo_id", "revision"])
    op.create_index("ix_model_versions_repo_id", "model_versions", ["repo_id"])


def downgrade() -> None:
    op.drop_index("ix_model_versions_repo_id", "model_versions")
    with op.batch_alter_table("model_versions") as batch:
        batch.drop_constraint("uq_model_versions_repo_revision", type_="unique")
        batch.drop_column("revision")
        batch.drop_column("repo_id")
