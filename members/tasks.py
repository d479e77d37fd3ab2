from celery import shared_task

from .services.batch import batch_runs_prune
from .services.nightly import insights_rebuild
from .services.tag_import import tag_import_run


@shared_task(bind=True, acks_late=True)
def rebuild_member_insights(self) -> dict[str, float]:
    # the task id is the run key: delivered again, the rebuild carries on (members.services.batch)
    return insights_rebuild(run_key=self.request.id)


@shared_task(acks_late=True)
def prune_batch_runs() -> int:
    return batch_runs_prune()


@shared_task(acks_late=True)
def run_tag_import(job_id: int) -> str:
    # delivered again, the import carries on from its job's cursor (services.tag_import)
    return tag_import_run(job_id=job_id).status
