from celery import shared_task

from .services.insights import insights_rebuild
from .services.tag_import import tag_import_run


@shared_task(acks_late=True)
def rebuild_member_insights() -> dict[str, float]:
    return insights_rebuild()


@shared_task(acks_late=True)
def run_tag_import(job_id: int) -> str:
    return tag_import_run(job_id=job_id).status
