"""Service settings: one object, read from ``DRAGOMAN_*`` environment variables.

Validated at start-up; a bad value fails loudly instead of falling back.
The embedded defaults need no server: SQLite for the store and a
filesystem broker under ``data_dir``, both surviving a restart.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, IPvAnyNetwork, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_TRANSLATION_MODEL = "facebook/nllb-200-distilled-600M"


class Settings(BaseSettings):
    """Everything configurable about the API and the workers."""

    model_config = SettingsConfigDict(env_prefix="DRAGOMAN_", extra="ignore")

    data_dir: Path = Field(
        default_factory=lambda: platformdirs.user_data_path("dragoman"),
        description="Where the embedded database and broker keep their files.",
    )
    database_url: str = Field(
        default="", description="SQLAlchemy URL; SQLite under data_dir when empty."
    )
    broker_url: str = Field(
        default="",
        description="Celery broker URL (redis://, amqp://); a filesystem broker when empty.",
    )

    translation_model: str = DEFAULT_TRANSLATION_MODEL
    translation_backend: str = Field(
        default="auto",
        pattern=r"^[a-z0-9_-]{1,32}$",
        description="auto, ctranslate2, transformers, or echo (returns text unchanged: for "
        "load tests, not translation); workers refuse a name no engine of theirs has.",
    )
    summary_model: str = "extractive"
    models_dir: Path | None = Field(
        default=None, description="Model store of `dragoman models pull`; data_dir/models if unset."
    )
    device: str = Field(
        default="auto",
        pattern=r"^(auto|cpu|cuda(:[0-9]+)?)$",
        description="auto (a GPU when the engine can use one, else the CPU), cpu, cuda or cuda:N.",
    )
    compute_type: str = Field(
        default="default",
        description="Weight type; default is int8 on CPU and int8_float16 on CUDA with "
        "CTranslate2, float32 on CPU and bfloat16 (float16 without it) on CUDA with "
        "transformers.",
    )
    threads: int = Field(
        default=0,
        ge=0,
        description="CPU threads for the model; 0 uses the cores this process may run on.",
    )
    translation_max_batch_tokens: int = Field(
        default=4096,
        ge=16,
        le=1_000_000,
        description="Decoder positions in one CTranslate2 batch (rows x beams x (longest "
        "source + its output bound)): bounds the batch's memory, about 150 KB per position "
        "for NLLB-600M; larger batches are faster.",
    )
    translation_gpu_batch_tokens: int = Field(
        default=0,
        ge=0,
        le=100_000_000,
        description="The same for the transformers engine on a GPU; 0 sizes it from the GPU "
        "memory free after loading (half of it over the attention cache one position "
        "takes).",
    )
    quality_checks: Literal["retry", "flag", "off"] = Field(
        default="retry",
        description="Check each translated sentence; retry failures with stricter decoding "
        "(retry), only flag them (flag), or skip the checks (off).",
    )
    persian_digits: bool = Field(
        default=False, description="Write digits as ۰-۹ in Persian (fa, azb) output."
    )
    cache: Literal["auto", "redis", "database", "off"] = "auto"
    cache_url: str = Field(default="", description="Redis URL of the translation cache.")
    cache_ttl_days: int = Field(default=30, ge=1)
    metrics_port: int = Field(default=0, ge=0, le=65535, description="Worker metrics port; 0: off.")
    metrics_token: str = Field(
        default="",
        max_length=256,
        description="When set, the API's /metrics answers only requests with this bearer "
        "token (Prometheus: `authorization: {credentials: ...}`); open when empty.",
    )
    translation_batch_size: int = Field(
        default=0,
        ge=0,
        le=16384,
        description="Sentences the batch scheduler takes from its queues at once; the "
        "engine sorts them by length and cuts them into batches by its budget (the "
        "transformers engine generates at most 32 at a time on a CPU, 1024 on a GPU). "
        "0: 128 on a CPU, 4096 on a GPU.",
    )
    translation_beams: int = Field(default=1, ge=1, le=16)
    auto_pull: bool = Field(
        default=True,
        description="A worker whose model is a Hugging Face id not yet in the model store "
        "pulls and converts it once at start (never with HF_HUB_OFFLINE=1).",
    )

    max_text_chars: int = Field(default=100_000, ge=1)
    max_target_languages: int = Field(default=10, ge=1)
    max_summary_sentences: int = Field(default=20, ge=1)

    glossary_max_entries: int = Field(
        default=5000, ge=1, le=100_000, description="Entries in one glossary."
    )
    glossary_max_per_tenant: int = Field(default=100, ge=1, description="Glossaries per tenant.")
    glossary_max_term_chars: int = Field(
        default=200, ge=1, le=2000, description="Characters in one term or target text."
    )
    glossary_max_per_job: int = Field(default=10, ge=1, description="Glossaries one job names.")

    task_soft_time_limit: int = Field(default=1800, ge=1, description="Seconds.")
    task_time_limit: int = Field(default=1900, ge=1, description="Seconds.")
    task_max_retries: int = Field(default=5, ge=0)
    worker_concurrency: int = Field(
        default=0,
        ge=0,
        description="Jobs a worker process runs at once, sharing one model; 0: 4 on a CPU "
        "machine, 16 where a GPU is present.",
    )
    worker_pool: Literal["threads", "prefork", "solo"] = "threads"
    task_events: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="Send Celery task events (for Flower); auto: on with a Redis or AMQP "
        "broker, off with the embedded one, whose fanout queues nobody would empty.",
    )
    worker_heartbeat_seconds: float = Field(default=5.0, gt=0)
    worker_shutdown_seconds: float = Field(
        default=5.0,
        gt=0,
        le=300,
        description="On SIGTERM a worker hands its running jobs back to the queue and exits "
        "within this many seconds.",
    )
    worker_stale_seconds: float = Field(default=30.0, gt=0)
    reaper_seconds: float = Field(
        default=15.0,
        ge=0,
        description="How often each worker looks for jobs of dead workers and lost "
        "messages; 0: never.",
    )
    reaper_grace_seconds: float = Field(
        default=30.0,
        gt=0,
        description="A queued job's message counts as lost only after this many seconds.",
    )
    job_max_attempts: int = Field(
        default=3,
        ge=1,
        description="Attempts at a job whose workers keep dying before it fails (worker_lost).",
    )
    broker_publish_timeout: float = Field(default=3.0, gt=0)

    interactive_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        le=600,
        description="How long a LibreTranslate-style call waits for its translation "
        "before answering 504.",
    )
    interactive_retention_seconds: float = Field(
        default=600.0,
        gt=0,
        description="Interactive requests (and files from /translate_file) are deleted "
        "this long after they were made.",
    )
    interactive_concurrency: int = Field(
        default=32,
        ge=1,
        le=256,
        description="Interactive requests a worker process runs at once, beside and "
        "independent of worker_concurrency's article jobs.",
    )
    interactive_char_limit: int = Field(
        default=5000,
        ge=1,
        description="Characters one LibreTranslate-style /translate call may carry "
        "(charLimit of /frontend/settings).",
    )
    interactive_poll_seconds: float = Field(
        default=0.05,
        gt=0,
        le=5,
        description="How often the API reads the answers of the calls waiting on it "
        "(one query for all of them).",
    )

    allow_private_callbacks: bool = Field(
        default=False, description="Allow webhook URLs on loopback/private networks."
    )
    webhook_max_attempts: int = Field(default=6, ge=1, le=20)
    webhook_timeout: float = Field(default=10.0, gt=0)
    webhook_backoff_seconds: float = Field(
        default=2.0, gt=0, description="Wait before the second delivery attempt; doubles."
    )
    webhook_backoff_max_seconds: float = Field(default=600.0, gt=0)
    webhook_concurrency: int = Field(
        default=4,
        ge=1,
        le=64,
        description="Webhook deliveries a worker process makes at once, beside its jobs.",
    )

    allow_private_fetch: bool = Field(
        default=False,
        description="Allow fetching articles and feeds from loopback/private/link-local "
        "addresses (fetch_allowed_networks allows chosen ranges only).",
    )
    fetch_allowed_networks: list[IPvAnyNetwork] = Field(
        default_factory=list,
        description='Non-public ranges fetching may reach, e.g. ["10.20.0.0/16"] for an '
        "intranet CMS; every other internal address stays refused.",
    )
    fetch_max_bytes: int = Field(
        default=5 * 1024 * 1024,
        ge=1024,
        description="Largest page or feed, counted after decompression.",
    )
    fetch_timeout: float = Field(
        default=30.0, gt=0, le=600, description="Seconds for a whole fetch, redirects included."
    )
    fetch_max_redirects: int = Field(default=5, ge=0, le=20)
    fetch_user_agent: str = Field(
        default="Mozilla/5.0 (compatible; Dragoman/0.1; news summarisation and translation)",
        min_length=1,
        max_length=300,
    )
    max_html_chars: int = Field(
        default=1_000_000, ge=1, description="Largest `html` a job may bring (markup included)."
    )

    feed_poll_seconds: float = Field(
        default=60.0, gt=0, description="How often the scheduler looks for feeds due a poll."
    )
    feed_min_interval_minutes: int = Field(default=5, ge=1)
    feed_max_items_per_poll: int = Field(
        default=20, ge=1, le=1000, description="New items a poll turns into jobs; the rest wait."
    )
    feed_backoff_max_minutes: int = Field(
        default=24 * 60, ge=1, description="Longest wait before polling a failing feed again."
    )
    max_feeds_per_tenant: int = Field(default=100, ge=1)

    auth: Literal["required", "disabled"] = Field(
        default="required",
        description="required: every /v1 request needs an API key; disabled: all requests "
        "act as tenant 'local' (`dragoman serve` on a loopback address only, by default).",
    )
    rate_limit_per_minute: int = Field(
        default=600,
        ge=1,
        description="Submissions and other writes per minute per API key, unless the key says "
        "(reads have read_rate_limit_per_minute).",
    )
    read_rate_limit_per_minute: int = Field(
        default=6000,
        ge=0,
        description="Reads (GET: jobs, their events, lists, languages, glossaries) per minute "
        "per API key, counted apart from rate_limit_per_minute; 0: reads are not limited.",
    )
    chars_per_day: int = Field(
        default=2_000_000, ge=1, description="Article characters per UTC day per API key."
    )
    max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    max_queued_jobs: int = Field(
        default=10_000, ge=1, description="New jobs are refused (503) while this many wait."
    )

    events_poll_seconds: float = Field(
        default=0.5,
        gt=0,
        le=10,
        description="How often a job's event stream (GET /v1/jobs/{id}/events) reads the job "
        "from the store.",
    )
    events_keepalive_seconds: float = Field(
        default=15.0,
        gt=0,
        le=60,
        description="A quiet event stream sends a keep-alive comment this often.",
    )

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @model_validator(mode="after")
    def _limits_consistent(self) -> Settings:
        if self.task_time_limit <= self.task_soft_time_limit:
            raise ValueError("task_time_limit must be greater than task_soft_time_limit")
        return self

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'dragoman.db'}"

    @property
    def effective_broker_url(self) -> str:
        return self.broker_url or "filesystem://"

    @property
    def effective_models_dir(self) -> Path:
        return (self.models_dir or self.data_dir / "models").expanduser().resolve()

    @property
    def uses_embedded_broker(self) -> bool:
        return not self.broker_url

    @property
    def broker_folder(self) -> Path:
        return self.data_dir / "broker"

    def broker_transport_options(self) -> dict[str, object]:
        """Transport options; the filesystem broker keeps its queue under data_dir."""
        if not self.uses_embedded_broker:
            return {}
        queue = self.broker_folder / "queue"
        return {
            "data_folder_in": str(queue),
            "data_folder_out": str(queue),
            "control_folder": str(self.broker_folder / "control"),
            "store_processed": False,
        }

    @property
    def sends_task_events(self) -> bool:
        """Whether workers (and the API, for task-sent) publish Celery task events."""
        if self.task_events == "auto":
            return not self.uses_embedded_broker
        return self.task_events == "on"

    def ensure_dirs(self) -> None:
        """Create the folders the embedded database and broker need."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.uses_embedded_broker:
            (self.broker_folder / "queue").mkdir(parents=True, exist_ok=True)
            (self.broker_folder / "control").mkdir(parents=True, exist_ok=True)


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once from the environment."""
    return Settings()
