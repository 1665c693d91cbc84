"""Suspension and the last vet: `airlock revet` re-vets admitted versions with today's policy and
rules, and suspends those that no longer pass (nothing is deleted; a re-admission lifts it).

`vetted_*` say which policy and rule set the version was last vetted under; rows admitted before
this revision were vetted under their admission policy and an unknown rule set (NULL), so the
next `airlock serve --revet-every` re-vets them.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("model_versions") as batch:
        batch.add_column(sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("suspended_reason", sa.Text, nullable=True))
        batch.add_column(sa.Column("vetted_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("vetted_policy_digest", sa.String(80), nullable=True))
        batch.add_column(sa.Column("vetted_ruleset_digest", sa.String(80), nullable=True))
    versions = sa.table(
        "model_versions",
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("policy_digest", sa.String),
        sa.column("vetted_at", sa.DateTime(timezone=True)),
        sa.column("vetted_policy_digest", sa.String),
    )
    op.get_bind().execute(
        versions.update().values(
            vetted_at=versions.c.created_at, vetted_policy_digest=versions.c.policy_digest
        )
    )


def downgrade() -> None:
    with op.batch_alter_table("model_versions") as batch:
        batch.drop_column("vetted_ruleset_digest")
        batch.drop_column("vetted_policy_digest")
        batch.drop_column("vetted_at")
        batch.drop_column("suspended_reason")
        batch.drop_column("suspended_at")
