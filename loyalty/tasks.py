from celery import shared_task

from .health import health_heartbeat_record
from .services.idempotency import idempotency_responses_expire


@shared_task(acks_late=True)
def health_heartbeat() -> str:
    return health_heartbeat_record()


@shared_task(bind=True, acks_late=True)
def prune_idempotency_keys(self) -> int:
    """Daily: the stored responses of keys past their 30 days are removed (the keys stay)."""
    return idempotency_responses_expire(run_key=self.request.id)


@shared_task(acks_late=True)
def send_webhooks() -> dict:
    """Every 10 s: the feed read into the webhook outbox, and due deliveries sent."""
    from .services.webhooks import webhooks_run
    return webhooks_run()


@shared_task(acks_late=True)
def build_dashboard_facts() -> int:
    """Nightly: the dashboard's facts of the Beijing day just ended (rebuilt whole)."""
    from .services.dashboard import dashboard_facts_build
    return dashboard_facts_build()
