"""Alembic environment of the registry: the kit's tables (outbox, inbox, idempotency) and
the registry's own, on the service's database."""

from cpts_kit import idempotency, inbox, outbox  # noqa: F401  (register the kit's tables)
from cpts_kit.db import Base
from cpts_kit.migrations import run_env
from cpts_registry.storage import models  # noqa: F401

run_env(Base.metadata)
