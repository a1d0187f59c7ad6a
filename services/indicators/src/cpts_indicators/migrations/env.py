"""Alembic environment of the indicators service: the kit's tables (outbox, inbox,
idempotency) and the service's own, on the service's database."""

from cpts_indicators.storage import models  # noqa: F401
from cpts_kit import idempotency, inbox, outbox  # noqa: F401  (register the kit's tables)
from cpts_kit.db import Base
from cpts_kit.migrations import run_env

run_env(Base.metadata)
