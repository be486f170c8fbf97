"""The interactive lane: a job's lane, an interactive request's payload, result and expiry."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from service.models import UTCDateTime

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("lane", sa.String(16), nullable=False, server_default="article"))
        batch.add_column(sa.Column("payload", sa.JSON()))
        batch.add_column(sa.Column("result", sa.JSON()))
        batch.add_column(sa.Column("expires_at", UTCDateTime()))
        batch.create_index("ix_jobs_lane_expires_at", ["lane", "expires_at"])


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_index("ix_jobs_lane_expires_at")
        batch.drop_column("expires_at")
        batch.drop_column("result")
        batch.drop_column("payload")
        batch.drop_column("lane")
