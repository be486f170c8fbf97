"""Sentence-level translation cache."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from service.models import UTCDateTime

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "translation_cache",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("translation", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_translation_cache_created_at", "translation_cache", ["created_at"])


def downgrade() -> None:
    op.drop_table("translation_cache")
