"""Jobs from HTML and URLs (source, output format, extracted metadata); feeds and their items."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from service.models import UTCDateTime

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(
            sa.Column("source_kind", sa.String(8), nullable=False, server_default="text")
        )
        batch.add_column(sa.Column("source_url", sa.Text()))
        batch.add_column(sa.Column("final_url", sa.Text()))
        batch.add_column(sa.Column("fetched_at", UTCDateTime()))
        batch.add_column(sa.Column("html", sa.Text()))
        batch.add_column(
            sa.Column("output_format", sa.String(8), nullable=False, server_default="text")
        )
        batch.add_column(sa.Column("author", sa.Text()))
        batch.add_column(sa.Column("published", sa.String(40)))
        batch.add_column(sa.Column("site", sa.Text()))
        batch.add_column(sa.Column("key_id", sa.String(36)))
    op.create_table(
        "feeds",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(36)),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("interval_minutes", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error_code", sa.String(64)),
        sa.Column("error_message", sa.Text()),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("etag", sa.Text()),
        sa.Column("last_modified", sa.Text()),
        sa.Column("last_polled_at", UTCDateTime()),
        sa.Column("next_poll_at", UTCDateTime(), nullable=False),
        sa.Column("lease_until", UTCDateTime()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_feeds_tenant", "feeds", ["tenant"])
    op.create_index("ix_feeds_next_poll_at", "feeds", ["next_poll_at"])
    op.create_table(
        "feed_items",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "feed_id", sa.String(36), sa.ForeignKey("feeds.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("guid", sa.Text()),
        sa.Column("link", sa.Text()),
        sa.Column("title", sa.Text()),
        sa.Column("job_id", sa.String(36)),
        sa.Column("error_code", sa.String(64)),
        sa.Column("error_message", sa.Text()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("feed_id", "key", name="uq_feed_items_feed_id_key"),
    )
    op.create_index("ix_feed_items_feed_id", "feed_items", ["feed_id"])
    op.create_index("ix_feed_items_job_id", "feed_items", ["job_id"])


def downgrade() -> None:
    op.drop_table("feed_items")
    op.drop_table("feeds")
    with op.batch_alter_table("jobs") as batch:
        for column in (
            "key_id",
            "site",
            "published",
            "author",
            "output_format",
            "html",
            "fetched_at",
            "final_url",
            "source_url",
            "source_kind",
        ):
            batch.drop_column(column)
