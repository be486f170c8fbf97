"""Jobs, translations and workers."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from service.models import UTCDateTime

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("title", sa.Text()),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source_language", sa.String(16), nullable=False),
        sa.Column("detected_language", sa.String(16)),
        sa.Column("detected_confidence", sa.Float()),
        sa.Column("target_languages", sa.JSON(), nullable=False),
        sa.Column("summary_sentences", sa.Integer()),
        sa.Column("translate_fields", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON()),
        sa.Column("progress_done", sa.Integer(), nullable=False),
        sa.Column("progress_total", sa.Integer(), nullable=False),
        sa.Column("error_code", sa.String(64)),
        sa.Column("error_message", sa.Text()),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(512)),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime()),
        sa.Column("finished_at", UTCDateTime()),
    )
    op.create_index("ix_jobs_status", "jobs", ["status"])
    op.create_index("ix_jobs_created_at_id", "jobs", ["created_at", "id"])
    op.create_table(
        "job_translations",
        sa.Column(
            "job_id",
            sa.String(36),
            sa.ForeignKey("jobs.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("language", sa.String(16), primary_key=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("direction", sa.String(3)),
        sa.Column("title", sa.Text()),
        sa.Column("summary", sa.Text()),
        sa.Column("body", sa.Text()),
        sa.Column("error_code", sa.String(64)),
        sa.Column("error_message", sa.Text()),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "workers",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("translation_model", sa.String(512), nullable=False),
        sa.Column("languages", sa.JSON()),
        sa.Column("model_status", sa.String(16), nullable=False),
        sa.Column("model_error", sa.Text()),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_workers_last_seen", "workers", ["last_seen"])


def downgrade() -> None:
    op.drop_table("workers")
    op.drop_table("job_translations")
    op.drop_table("jobs")
