from celery import shared_task

from .services import tier_recalculate_if_due, tier_reevaluate_due


@shared_task(acks_late=True)
def reevaluate_tiers() -> int:
    return tier_reevaluate_due()


@shared_task(acks_late=True)
def recalculate_tiers() -> int | None:
    return tier_recalculate_if_due()
