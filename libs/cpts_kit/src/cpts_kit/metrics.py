"""Prometheus metrics shared by every service (one process registry, a ``service`` label)."""

from __future__ import annotations

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

HTTP_REQUESTS = Counter("cpts_http_requests_total", "HTTP requests answered", ["service", "route", "method", "status"])
HTTP_LATENCY = Histogram("cpts_http_request_duration_seconds", "HTTP request latency", ["service", "route", "method"])
OUTBOX_BACKLOG = Gauge("cpts_outbox_backlog", "Outbox events not yet published", ["service"])
OUTBOX_OLDEST_AGE = Gauge(
    "cpts_outbox_oldest_unsent_age_seconds", "Age of the oldest unpublished outbox event", ["service"]
)
EVENTS_PUBLISHED = Counter(
    "cpts_events_published_total", "Events published to Kafka by the outbox relay", ["service", "type"]
)
BROKER_RESETS = Counter(
    "cpts_broker_resets_total", "Times the relay found the broker had lost published events", ["service"]
)
RELAY_ERRORS = Counter("cpts_relay_errors_total", "Outbox relay failures (broker down...)", ["service"])
CONSUMER_EVENTS = Counter("cpts_consumer_events_total", "Events consumed, by outcome", ["service", "group", "outcome"])
CONSUMER_FAILURES = Counter(
    "cpts_consumer_failures_total", "Events that failed processing (sent to the DLQ)", ["service", "group"]
)
CONSUMER_RESETS = Counter(
    "cpts_consumer_resets_total",
    "Times a consumer found the broker reset and read its topics again from the beginning",
    ["service", "group"],
)
CONSUMER_LAG = Gauge(
    "cpts_consumer_lag",
    "Messages between the consumer position and the log end",
    ["service", "group", "topic", "partition"],
)


def observe_request(service: str, route: str, method: str, status: int, seconds: float) -> None:
    """Counts one answered request (called by the service's HTTP layer, ``cpts_kit.app``)."""
    HTTP_REQUESTS.labels(service, route, method, str(status)).inc()
    HTTP_LATENCY.labels(service, route, method).observe(seconds)


def install_metrics_endpoint(app: FastAPI) -> None:
    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
