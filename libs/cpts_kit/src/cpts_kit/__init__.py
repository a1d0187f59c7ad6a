"""cpts_kit: the one library every CPTS platform service depends on.

Each module has one job: settings, db, events (CloudEvents), outbox (+ relay), inbox
(+ consumer runner), broker (Kafka clients, embedded Tansu), auth, problems, metrics,
logs, health, idempotency, pagination, app (wiring), service (what the CLI runs), cli.
"""
