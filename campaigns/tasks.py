from celery import shared_task
from django.utils import timezone

from .services.delivery import messages_deliver as messages_deliver_run
from .services.schedule import campaigns_tick
from .services.triggers import campaigns_poll_events, campaigns_scan_events


@shared_task(acks_late=True)
def campaigns_run_due() -> dict:
    """Every minute: start due campaigns and occasions, carry unfinished ones on."""
    return campaigns_tick(now=timezone.now())


@shared_task(acks_late=True)
def campaigns_poll_triggers() -> dict:
    """Every 10 seconds: running event-triggered campaigns act on what the feed brought."""
    return campaigns_poll_events(now=timezone.now())


@shared_task(acks_late=True)
def campaigns_scan_triggers() -> dict:
    """Daily, Beijing early morning: lapses, new members without a purchase, paid ends,
    points expiring."""
    return campaigns_scan_events(now=timezone.now())


@shared_task(acks_late=True)
def messages_deliver() -> dict:
    """After each commit that queued touches, and every 10 seconds: deliver what is due."""
    return messages_deliver_run(now=timezone.now())
