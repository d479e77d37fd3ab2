from celery import shared_task
from django.utils import timezone

from .services.schedule import campaigns_tick


@shared_task(acks_late=True)
def campaigns_run_due() -> dict:
    """Every minute: start due campaigns and occasions, carry unfinished ones on."""
    return campaigns_tick(now=timezone.now())
