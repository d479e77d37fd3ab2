from celery import shared_task

from .services.batch import batch_runs_prune
from .services.nightly import insights_rebuild


@shared_task(bind=True, acks_late=True)
def rebuild_member_insights(self) -> dict[str, float]:
    # the task id is the run key: delivered again, the rebuild carries on (members.services.batch)
    return insights_rebuild(run_key=self.request.id)


@shared_task(acks_late=True)
def prune_batch_runs() -> int:
    return batch_runs_prune()
