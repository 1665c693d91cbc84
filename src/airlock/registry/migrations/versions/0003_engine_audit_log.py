"""The engine chosen at admission, and the audit log.

Rows admitted before this revision get their engine here, by the rule admission uses
(engine_choice.py: config files only), applied to the files recorded in their manifest
at their recorded source. A source that is gone is recorded as not servable, with that reason.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import op

from airlock.engine_choice import choose_engine

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("model_versions") as batch:
        batch.add_column(sa.Column("engine", sa.String(64), nullable=True))
        batch.add_column(sa.Column("engine_reason", sa.Text, nullable=False, server_default=""))
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("details", sa.JSON, nullable=False),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_action", "audit_log", ["action"])
    _fill_engines()


def _fill_engines() -> None:
    connection = op.get_bind()
    versions = sa.table(
        "model_versions",
        sa.column("id", sa.Integer),
        sa.column("source", sa.Text),
        sa.column("engine", sa.String),
        sa.column("engine_reason", sa.Text),
    )
    files = sa.table("model_files", sa.column("model_version_id"), sa.column("path"))
    for row_id, source in connection.execute(sa.select(versions.c.id, versions.c.source)).all():
        paths = connection.execute(
            sa.select(files.c.path).where(files.c.model_version_id == row_id)
        ).scalars()
        folder = Path(source)
        if folder.exists():
            chosen = choose_engine(folder, list(paths))
            engine, reason = chosen.engine, chosen.reason
        else:
            engine, reason = None, f"the source {source} was gone when the engine was decided"
        connection.execute(
            versions.update()
            .where(versions.c.id == row_id)
            .values(engine=engine, engine_reason=reason)
        )


def downgrade() -> None:
    op.drop_table("audit_log")
    with op.batch_alter_table("model_versions") as batch:
        batch.drop_column("engine_reason")
        batch.drop_column("engine")
