from celery import shared_task

from .coupons import coupons_expire_due
from .services import points_expire_due, points_unlock_due


@shared_task(acks_late=True)
def expire_points() -> int:
    return points_expire_due()


@shared_task(acks_late=True)
def unlock_points() -> int:
    return points_unlock_due()


@shared_task(acks_late=True)
def expire_coupons() -> int:
    return coupons_expire_due()
