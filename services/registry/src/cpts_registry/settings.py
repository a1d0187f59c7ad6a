"""Registry settings: ``CPTS_REGISTRY_*`` variables, falling back to the shared ``CPTS_*`` ones."""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from cpts_kit.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CPTS_REGISTRY_", extra="ignore")
    service_name: ClassVar[str] = "registry"
    default_port: ClassVar[int] = 8001
