from celery import shared_task

from .health import health_heartbeat_record


@shared_task(acks_late=True)
def health_heartbeat() -> str:
    return health_heartbeat_record()
