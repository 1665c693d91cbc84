"""Eval results: each metric of each recorded `airlock eval` run, for the exact files (manifest
digest) of an admitted version, with the dataset's name, sha256 and size and the Airlock that
computed it.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "eval_results",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run", sa.String(32), nullable=False),
        sa.Column("model_name", sa.String(200), nullable=False),
        sa.Column("model_version", sa.Integer, nullable=False),
        sa.Column("manifest_digest", sa.String(80), nullable=False),
        sa.Column("dataset_name", sa.String(200), nullable=False),
        sa.Column("dataset_sha256", sa.String(64), nullable=False),
        sa.Column("dataset_bytes", sa.BigInteger, nullable=False),
        sa.Column("dataset_items", sa.BigInteger, nullable=False),
        sa.Column("task", sa.String(32), nullable=False),
        sa.Column("metric", sa.String(64), nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("ci_low", sa.Float, nullable=True),
        sa.Column("ci_high", sa.Float, nullable=True),
        sa.Column("items", sa.BigInteger, nullable=False),
        sa.Column("failed", sa.BigInteger, nullable=False),
        sa.Column("airlock_version", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=False),
    )
    op.create_index("ix_eval_results_run", "eval_results", ["run"])
    op.create_index("ix_eval_results_model_name", "eval_results", ["model_name"])
    op.create_index("ix_eval_results_manifest_digest", "eval_results", ["manifest_digest"])


def downgrade() -> None:
    op.drop_table("eval_results")
