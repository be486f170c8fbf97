"""Summary length as a share of the article.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("summary_ratio", sa.Float()))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("summary_ratio")
