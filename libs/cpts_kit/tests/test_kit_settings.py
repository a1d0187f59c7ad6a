"""Service settings: environment prefixes, the embedded-mode database, topic names."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest
from kit_helpers import KitTestSettings
from pydantic_settings import SettingsConfigDict

from cpts_kit.settings import ServiceSettings


class OtherSettings(ServiceSettings):
    service_name: ClassVar[str] = "kitother"
    default_port: ClassVar[int] = 8123
    model_config = SettingsConfigDict(env_prefix="CPTS_KITOTHER_", extra="ignore")


def test_the_service_prefix_wins_over_the_shared_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CPTS_KAFKA_BOOTSTRAP", "shared:9092")
    monkeypatch.setenv("CPTS_KITTEST_KAFKA_BOOTSTRAP", "mine:9092")
    monkeypatch.setenv("CPTS_KAFKA_PARTITIONS", "3")
    monkeypatch.setenv("CPTS_KITOTHER_KAFKA_PARTITIONS", "9")  # another service's own setting
    settings = KitTestSettings()
    assert settings.kafka_bootstrap == "mine:9092"
    assert settings.kafka_partitions == 3  # only the shared variable: it applies
    other = OtherSettings()
    assert other.kafka_bootstrap == "shared:9092"
    assert other.kafka_partitions == 9


def test_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CPTS_KITTEST_PORT", "9001")
    monkeypatch.setenv("CPTS_PORT", "9002")
    assert KitTestSettings().port == 9001
    assert KitTestSettings(port=9003).port == 9003


def test_without_the_environment_the_defaults_apply(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    settings = OtherSettings()
    assert settings.port == 8123
    assert settings.kafka_bootstrap == "127.0.0.1:19092"
    assert settings.database_url == f"sqlite+aiosqlite:///{(tmp_path / '.cpts' / 'kitother.db').resolve()}"


def test_the_default_database_is_a_sqlite_file_under_the_state_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert KitTestSettings(state_dir=tmp_path).database_url == f"sqlite+aiosqlite:///{tmp_path.resolve()}/kittest.db"
    monkeypatch.chdir(tmp_path)  # a relative folder is made absolute
    relative = KitTestSettings(state_dir=Path("state"))
    assert relative.database_url == f"sqlite+aiosqlite:///{tmp_path.resolve()}/state/kittest.db"
    monkeypatch.setenv("CPTS_STATE_DIR", str(tmp_path / "shared-state"))
    assert KitTestSettings().database_url == f"sqlite+aiosqlite:///{tmp_path.resolve()}/shared-state/kittest.db"
    explicit = "postgresql+asyncpg://cpts@db:5432/kittest"
    assert KitTestSettings(state_dir=tmp_path, database_url=explicit).database_url == explicit
    monkeypatch.setenv("CPTS_DATABASE_URL", explicit)
    assert KitTestSettings(state_dir=tmp_path).database_url == explicit


def test_topic_names_follow_the_service_name(tmp_path: Path) -> None:
    settings = KitTestSettings(state_dir=tmp_path)
    assert settings.topic == "cpts.kittest.events"
    assert settings.dlq_topic == "cpts.kittest.events.dlq"
    assert settings.heartbeat_topic == "cpts.kittest.relay"
    assert settings.event_source == "/cpts/kittest"
    assert settings.dev_private_key_file == tmp_path / "dev-jwt-private.pem"
    other = OtherSettings(state_dir=tmp_path)
    assert (other.topic, other.dlq_topic, other.heartbeat_topic) == (
        "cpts.kitother.events",
        "cpts.kitother.events.dlq",
        "cpts.kitother.relay",
    )
