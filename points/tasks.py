from celery import shared_task

from .services.coupons import coupons_expire_due
from .services.holds import points_holds_expire_due
from .services.ledger import points_expire_due, points_unlock_due
from .services.liability import points_liability_rollup


@shared_task(acks_late=True)
def expire_points() -> int:
    return points_expire_due()


@shared_task(acks_late=True)
def unlock_points() -> int:
    return points_unlock_due()


@shared_task(acks_late=True)
def expire_coupons() -> int:
    return coupons_expire_due()


@shared_task(acks_late=True)
def expire_holds() -> int:
    return points_holds_expire_due()


@shared_task(acks_late=True)
def rollup_liability() -> int:
    return points_liability_rollup()
