"""Jobs handed back by a stopping worker; what engine a worker runs its model with."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("handbacks", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("workers") as batch:
        batch.add_column(sa.Column("model_info", sa.JSON()))


def downgrade() -> None:
    with op.batch_alter_table("workers") as batch:
        batch.drop_column("model_info")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("handbacks")
