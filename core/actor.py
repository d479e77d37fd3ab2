"""Who is making a write: a staff user in the admin, or an API key (and the user who owns
it), and the store they act for when there is one.

The interface that authenticates a request names the actor once (the admin's middleware,
the API's base view, a command); services read it when they write a row that records who
made it — an order, a ledger entry, a redemption, a coupon event — so that no write path
can forget it. Batch jobs run with no actor: their rows are the system's.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    user_id: int | None = None
    api_key_id: int | None = None
    store_id: int | None = None


_current: ContextVar[Actor | None] = ContextVar("loyalty_actor", default=None)


def current_actor() -> Actor | None:
    return _current.get()


@contextmanager
def acting_as(actor: Actor | None):
    """Every write inside the block records this actor."""
    token = _current.set(actor)
    try:
        yield actor
    finally:
        _current.reset(token)


def set_actor(actor: Actor | None):
    """For an interface that learns the actor midway (DRF authenticates lazily); returns the
    token to reset it with."""
    return _current.set(actor)


def reset_actor(token) -> None:
    _current.reset(token)


def actor_columns() -> dict:
    """The columns of `core.models.AttributedRow` for the current actor."""
    actor = _current.get() or Actor()
    return {"actor_user_id": actor.user_id, "actor_api_key_id": actor.api_key_id}


def actor_store_id(store_id: int | None = None) -> int | None:
    """The store a row applies to: the one given (an order's, a pickup store), else the one
    the actor acts for."""
    if store_id is not None:
        return store_id
    actor = _current.get()
    return actor.store_id if actor else None
