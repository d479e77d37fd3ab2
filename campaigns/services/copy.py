"""Copying a campaign — a shipped play or a past campaign — into a new draft."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from core.clock import resolve_now

from ..models import Campaign, CampaignAction, CampaignStatus, CampaignVariant
from ..models.campaign import new_seed

_NOT_COPIED = {"id", "code", "name", "status", "is_template", "template", "seed", "earning_rule_key",
               "created_at", "updated_at", "owner"}


def _free_code(code: str) -> str:
    base, n = code[:40], 1
    candidate = f"{base}-copy"
    while Campaign.objects.filter(code=candidate).exists():
        n += 1
        candidate = f"{base}-copy{n}"
    return candidate


def campaign_copy(*, campaign_id: int, owner_id: int | None = None, code: str | None = None,
                  name: str | None = None, now: datetime | None = None) -> Campaign:
    """A new draft with the same audience, trigger, limits, budget, variants and actions,
    and a new seed (so its control group is drawn afresh)."""
    now = resolve_now(now)
    with transaction.atomic():
        source = Campaign.objects.get(pk=campaign_id)
        fields = {f.name: getattr(source, f.name) for f in Campaign._meta.concrete_fields
                  if f.name not in _NOT_COPIED and not f.name.endswith("_id")}
        copy = Campaign.objects.create(
            **fields, code=code or _free_code(source.code), name=name or source.name,
            status=CampaignStatus.DRAFT, is_template=False, seed=new_seed(),
            owner_id=owner_id, created_at=now, updated_at=now,
            template_id=source.pk if source.is_template else source.template_id)
        copy.exclude_segments.set(source.exclude_segments.all())
        for variant in CampaignVariant.objects.filter(campaign=source).order_by("code"):
            actions = list(CampaignAction.objects.filter(variant=variant).order_by("id"))
            variant.pk, variant.campaign = None, copy
            variant.save(force_insert=True)
            for action in actions:
                action.pk, action.variant = None, variant
                action.save(force_insert=True)
        return copy
