"""Beat jobs of the tiers layer. Each passes its task id as the run key: a broker that
delivers the task again after a lost worker keeps the id, so the run carries on after its
last committed chunk (members.services.batch) instead of starting over."""

from celery import shared_task

from .services.benefits import benefit_grants_expire_due, benefit_grants_issue_due
from .services.decay import growth_decay_due
from .services.ladder import tier_recalculate_if_due, tier_reevaluate_due
from .services.paid import paid_lapse_due


@shared_task(bind=True, acks_late=True)
def reevaluate_tiers(self, chunk: int = 2000) -> int:
    return tier_reevaluate_due(chunk=chunk, run_key=self.request.id)


@shared_task(bind=True, acks_late=True)
def recalculate_tiers(self) -> int | None:
    return tier_recalculate_if_due(run_key=self.request.id)


@shared_task(bind=True, acks_late=True)
def grant_benefits(self) -> dict[str, int]:
    return benefit_grants_issue_due(run_key=self.request.id)


@shared_task(bind=True, acks_late=True)
def expire_benefit_grants(self) -> int:
    return benefit_grants_expire_due(run_key=self.request.id)


@shared_task(bind=True, acks_late=True)
def lapse_paid_memberships(self) -> int:
    return paid_lapse_due(run_key=self.request.id)


@shared_task(bind=True, acks_late=True)
def decay_growth(self) -> int:
    return growth_decay_due(run_key=self.request.id)
