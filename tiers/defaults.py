"""The reference ladder (DESIGN §2.2) a new programme starts with; an operator edits it in
the admin. Loaded by migration 0003 and by `ensure_default_ladder()` (tests, fresh setups)."""

from __future__ import annotations

# code, name, rank, min_growth, first purchase, on registration, validity months,
# end policy, policy parameters
DEFAULT_LADDER = [
    ("registered", "注册会员 Registered", 0, None, False, True, None, "keep", {}),
    ("bronze", "青铜 Bronze", 10, None, True, False, None, "keep", {}),
    ("silver", "白银 Silver", 20, 2_000, False, False, 12, "reset", {}),
    ("gold", "黄金 Gold", 30, 10_000, False, False, 12, "keep_percent", {"keep_percent": 50}),
    ("diamond", "钻石 Diamond", 40, 30_000, False, False, 12, "deduct_fraction",
     {"deduct_numerator": 1, "deduct_denominator": 3}),
]


def ensure_default_ladder(*, tier_model=None, tag_model=None) -> None:
    """Create the reference tiers (and their system tags) that are missing, by code;
    existing ones are left as the operator made them. A migration passes its historical
    models."""
    if tier_model is None or tag_model is None:
        from members.models import Tag

        from .models import Tier

        tier_model, tag_model = tier_model or Tier, tag_model or Tag
    for code, name, rank, min_growth, first_purchase, on_reg, months, policy, params in DEFAULT_LADDER:
        tag, _ = tag_model.objects.get_or_create(
            code=f"tier-{code}", defaults={"name": name, "kind": "system"})
        if tier_model.objects.filter(code=code).exists():
            continue
        tier_model.objects.create(
            code=code, name=name, rank=rank, min_growth=min_growth,
            requires_first_purchase=first_purchase, on_registration=on_reg,
            validity_months=months, end_policy=policy, tag=tag, **params)
