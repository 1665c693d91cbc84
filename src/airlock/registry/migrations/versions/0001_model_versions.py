"""Model versions and their file manifests.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("manifest_digest", sa.String(80), nullable=False),
        sa.Column("decision", sa.String(32), nullable=False),
        sa.Column("reasons", sa.JSON, nullable=False),
        sa.Column("conditions", sa.JSON, nullable=False),
        sa.Column("dossier", sa.JSON, nullable=False),
        sa.Column("policy_name", sa.String(200), nullable=False),
        sa.Column("policy_digest", sa.String(80), nullable=False),
        sa.Column("forced", sa.Boolean, nullable=False),
        sa.Column("force_reason", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("name", "version", name="uq_model_versions_name_version"),
        sa.UniqueConstraint("name", "manifest_digest", name="uq_model_versions_name_digest"),
    )
    op.create_index("ix_model_versions_name", "model_versions", ["name"])
    op.create_table(
        "model_files",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "model_version_id",
            sa.Integer,
            sa.ForeignKey("model_versions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.UniqueConstraint("model_version_id", "path", name="uq_model_files_path"),
    )
    op.create_index("ix_model_files_model_version_id", "model_files", ["model_version_id"])


def downgrade() -> None:
    op.drop_table("model_files")
    op.drop_table("model_versions")
