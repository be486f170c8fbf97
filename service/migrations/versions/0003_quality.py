"""Quality records: per-language flags and the job's text analysis."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("analysis", sa.JSON()))
    with op.batch_alter_table("job_translations") as batch:
        batch.add_column(sa.Column("flags", sa.JSON()))


def downgrade() -> None:
    with op.batch_alter_table("job_translations") as batch:
        batch.drop_column("flags")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("analysis")
