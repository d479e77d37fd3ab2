from celery import shared_task

from .services import tier_reevaluate_due


@shared_task(acks_late=True)
def reevaluate_tiers() -> int:
    return tier_reevaluate_due()
