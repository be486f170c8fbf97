"""Glossaries per tenant; the glossary snapshot of a job; terms applied per language."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from service.models import UTCDateTime

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.create_table(
        "glossaries",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "tenant",
            sa.String(64),
            sa.ForeignKey("tenants.name", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("source_language", sa.String(35), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("entries", sa.JSON(), nullable=False),
        sa.Column("entry_count", sa.Integer(), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("tenant", "name", name="uq_glossaries_tenant_name"),
    )
    op.create_index("ix_glossaries_tenant", "glossaries", ["tenant"])
    op.create_index(
        "uq_glossaries_default",
        "glossaries",
        ["tenant"],
        unique=True,
        sqlite_where=sa.text("is_default"),
        postgresql_where=sa.text("is_default"),
    )
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("glossary", sa.JSON()))
    with op.batch_alter_table("job_translations") as batch:
        batch.add_column(sa.Column("terms", sa.JSON()))


def downgrade() -> None:
    with op.batch_alter_table("job_translations") as batch:
        batch.drop_column("terms")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("glossary")
    op.drop_index("uq_glossaries_default", table_name="glossaries")
    op.drop_index("ix_glossaries_tenant", table_name="glossaries")
    op.drop_table("glossaries")
