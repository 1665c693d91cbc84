"""Usage rows carry the id of their gateway journal entry, so that replaying a journal left by a
killed gateway never counts a request twice. Rows written before this revision have none.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("usage_records") as batch:
        batch.add_column(sa.Column("entry_id", sa.String(32), nullable=True))
    op.create_index("ix_usage_records_entry_id", "usage_records", ["entry_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_usage_records_entry_id", "usage_records")
    with op.batch_alter_table("usage_records") as batch:
        batch.drop_column("entry_id")
