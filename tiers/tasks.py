from celery import shared_task

from .services.benefits import benefit_grants_expire_due, benefit_grants_issue_due
from .services.decay import growth_decay_due
from .services.ladder import tier_recalculate_if_due, tier_reevaluate_due
from .services.paid import paid_lapse_due


@shared_task(acks_late=True)
def reevaluate_tiers() -> int:
    return tier_reevaluate_due()


@shared_task(acks_late=True)
def recalculate_tiers() -> int | None:
    return tier_recalculate_if_due()


@shared_task(acks_late=True)
def grant_benefits() -> dict[str, int]:
    return benefit_grants_issue_due()


@shared_task(acks_late=True)
def expire_benefit_grants() -> int:
    return benefit_grants_expire_due()


@shared_task(acks_late=True)
def lapse_paid_memberships() -> int:
    return paid_lapse_due()


@shared_task(acks_late=True)
def decay_growth() -> int:
    return growth_decay_due()
