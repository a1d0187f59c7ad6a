"""Settings shared by every service.

Each service subclasses :class:`ServiceSettings` with its own prefix (``CPTS_REGISTRY_``...).
A variable with the service prefix wins over the shared ``CPTS_`` one, so an operator can set
``CPTS_KAFKA_BOOTSTRAP`` once for the whole platform and override a single service if needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    service_name: ClassVar[str] = "service"
    default_port: ClassVar[int] = 8000

    # Where embedded-mode files live (SQLite databases, development JWT key, broker logs).
    state_dir: Path = Path(".cpts")
    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = 0

    kafka_bootstrap: str = "127.0.0.1:19092"
    # Real Kafka supports idempotent producers; the embedded Tansu broker does not.
    kafka_idempotence: bool = False
    kafka_partitions: int = 6
    kafka_request_timeout_ms: int = 5000
    # A record batch's cap: the relay sends each partition's share of a round as one batch.
    # Under the broker's message.max.bytes (Kafka's default is 1 MiB).
    kafka_max_batch_bytes: int = 1_000_000

    relay_interval_seconds: float = 0.5
    relay_batch_size: int = 1000
    # Wake the relay when a transaction of its own process enqueues an event (else it polls).
    relay_wake_on_commit: bool = True
    relay_max_backoff_seconds: float = 10.0
    # How often the relay checks that the broker still holds what was published.
    broker_check_interval_seconds: float = 5.0
    consumer_max_attempts: int = 3
    # Events a consumer applies in one transaction (each in its own savepoint).
    consumer_batch_size: int = 500
    # How long the broker may hold a consumer's fetch when it has nothing to return. The
    # embedded broker holds it that long even when a record arrives meanwhile, so this is
    # also the longest wait of an event for its consumer: short by default. Real Kafka answers
    # as soon as a record arrives: 500 there (Kafka's default) costs no latency.
    consumer_fetch_max_wait_ms: int = 50
    # After a broker reset, how long a consumer waits for the producing relays to check the
    # broker (and republish) before it reads again.
    consumer_relay_wait_seconds: float = 30.0

    # Embedded mode: the platform on a developer's machine (`cpts run` sets CPTS_EMBEDDED=true,
    # and so do the tests). Only there may a service verify tokens with the development key
    # under state_dir; otherwise it refuses to start without a public key file or a JWKS URL.
    embedded: bool = False
    jwt_public_key_file: Path | None = None
    jwks_url: str | None = None
    jwt_issuer: str = "cpts-dev"
    jwt_audience: str = "cpts-platform"
    # Bearer tokens: longer ones, or ones expiring further ahead, are refused (401).
    max_token_bytes: int = 8192
    max_token_lifetime_seconds: int = 24 * 3600
    # Verified tokens kept (by SHA-256, until they expire) so a token is checked once.
    token_cache_size: int = 10_000

    # Costly answers (aggregates, list totals) kept until a write of this process, and at
    # most this long (writes by other processes, such as other replicas, are not seen).
    read_cache_seconds: float = 5.0

    # Request bodies (JSON): larger ones get a 413 before anything reads them.
    max_body_bytes: int = 2_000_000
    # Bodies of the routes marked ``cpts_kit.app.streamed_upload`` (documents), which stream
    # them to storage with their own checks.
    max_upload_bytes: int = 2_000_000
    log_level: str = "INFO"
    log_json: bool = True

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        shared = EnvSettingsSource(settings_cls, env_prefix="CPTS_")
        return (init_settings, env_settings, shared, file_secret_settings)

    def model_post_init(self, __context: object) -> None:
        if not self.database_url:
            path = (self.state_dir / f"{self.service_name}.db").resolve()
            self.database_url = f"sqlite+aiosqlite:///{path}"
        if not self.port:
            self.port = self.default_port

    @property
    def topic(self) -> str:
        return f"cpts.{self.service_name}.events"

    @property
    def dlq_topic(self) -> str:
        return f"{self.topic}.dlq"

    @property
    def heartbeat_topic(self) -> str:
        """Internal to the relay: its heartbeats tell whether the broker lost its logs."""
        return f"cpts.{self.service_name}.relay"

    @property
    def event_source(self) -> str:
        return f"/cpts/{self.service_name}"

    @property
    def dev_private_key_file(self) -> Path:
        return self.state_dir / "dev-jwt-private.pem"


class KitSettings(ServiceSettings):
    """Settings of commands that serve no single service (the ``cpts`` CLI)."""

    model_config = SettingsConfigDict(env_prefix="CPTS_KIT_", extra="ignore")
