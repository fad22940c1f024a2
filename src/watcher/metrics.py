"""Prometheus metrics, in a registry of the app's own (no process-global state)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.checks = Counter(
            "watcher_checks", "Checks of sources, by outcome", ["outcome"], registry=self.registry
        )
        self.check_seconds = Histogram(
            "watcher_check_duration_seconds",
            "Time to check one source, fetch included",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=self.registry,
        )
        self.changes = Counter(
            "watcher_changes", "Changes recorded, by kind", ["kind"], registry=self.registry
        )
        self.messages = Counter(
            "watcher_messages",
            "Email delivery attempts, by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.outbox = Gauge(
            "watcher_outbox_depth",
            "Messages in the outbox, by status",
            ["status"],
            registry=self.registry,
        )
        self.failing = Gauge(
            "watcher_sources_failing", "Sources whose last check failed", registry=self.registry
        )
        self.sources = Gauge("watcher_sources", "Active sources", registry=self.registry)

    def checked(self, outcome: str, seconds: float, kind: str | None = None) -> None:
        self.checks.labels(outcome).inc()
        self.check_seconds.observe(seconds)
        if outcome == "changed" and kind:
            self.changes.labels(kind).inc()

    def delivered(self, outcome: str) -> None:
        self.messages.labels(outcome).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
