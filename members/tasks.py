from celery import shared_task

from .services.nightly import insights_rebuild


@shared_task(acks_late=True)
def rebuild_member_insights() -> dict[str, float]:
    return insights_rebuild()
