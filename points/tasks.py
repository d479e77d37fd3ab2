"""Beat jobs of the points layer. Each passes its task id as the run key, so a task
delivered again after a lost worker carries on where it stopped (members.services.batch); the
liability rollup keeps its own cursor (points.liability)."""

from celery import shared_task

from .services.coupons import coupons_expire_due
from .services.gift_cards import gift_cards_expire_due
from .services.holds import points_holds_expire_due
from .services.ledger import points_expire_due, points_expiry_notices, points_unlock_due
from .services.liability import points_liability_rollup
from .services.stored_value import stored_value_expire_due
from .services.verify import ledger_verify


@shared_task(bind=True, acks_late=True)
def expire_points(self, chunk: int = 2000) -> int:
    return points_expire_due(chunk=chunk, run_key=self.request.id)


@shared_task(acks_late=True)
def notify_points_expiring() -> int:
    return points_expiry_notices()


@shared_task(bind=True, acks_late=True)
def unlock_points(self) -> int:
    return points_unlock_due(run_key=self.request.id)


@shared_task(bind=True, acks_late=True)
def expire_coupons(self) -> int:
    return coupons_expire_due(run_key=self.request.id)


@shared_task(bind=True, acks_late=True)
def expire_holds(self) -> int:
    return points_holds_expire_due(run_key=self.request.id)


@shared_task(acks_late=True)
def rollup_liability() -> int:
    return points_liability_rollup()


@shared_task(acks_late=True)
def verify_ledger(full: bool = False) -> int:
    return ledger_verify(full=full).differing_accounts
@shared_task(bind=True, acks_late=True)
def expire_stored_value_bonus(self) -> int:
    return stored_value_expire_due(run_key=self.request.id)


@shared_task(bind=True, acks_late=True)
def expire_gift_cards(self) -> int:
    return gift_cards_expire_due(run_key=self.request.id)
