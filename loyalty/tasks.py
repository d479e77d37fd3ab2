from celery import shared_task

from .health import health_heartbeat_record
from .services.idempotency import idempotency_prune


@shared_task(acks_late=True)
def health_heartbeat() -> str:
    return health_heartbeat_record()


@shared_task(acks_late=True)
def prune_idempotency_keys() -> int:
    return idempotency_prune()
