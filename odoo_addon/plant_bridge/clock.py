"""The event's clock: Odoo's own buttons, run at the time the plant reported.

Odoo's buttons stamp what they do with "now" (`fields.Datetime.now()`): the work order's Start
opens its timer and dates the work order and the order, Pause / Done close the timers (and
split off the time beyond the expected duration as a performance loss), Done dates the work
order, and Mark as Done dates the stock moves, their lines and the quants. A plant event
replayed after an outage must leave the records a person pressing the same button at the time
of the event would have left, so the handlers run those buttons inside `event_time(moment)`:
within it, on this thread only, `fields.Datetime.now()` answers the event's moment. Every other
thread (other requests, the cron) and everything outside the block sees Odoo's clock unchanged.

Only calls made through `fields.Datetime.now()` at run time follow the event's clock; field
defaults that captured the function at class definition (for example a chatter message's date)
and the database's own `now()` (create/write dates) keep the real time, as they should.
"""
import threading
from contextlib import contextmanager

from odoo import fields

_local = threading.local()
_odoo_now = getattr(fields.Datetime.now, 'plant_bridge_original', fields.Datetime.now)


def _now(*args):
    moment = getattr(_local, 'moment', None)
    return _odoo_now(*args) if moment is None else moment


_now.plant_bridge_original = _odoo_now


@contextmanager
def event_time(moment):
    """Run the block with `fields.Datetime.now()` answering `moment` (naive UTC) on this thread."""
    previous = getattr(_local, 'moment', None)
    _local.moment = moment.replace(microsecond=0)
    try:
        yield
    finally:
        _local.moment = previous


def event_moment():
    """The moment of the plant event applying on this thread (`event_time`), else None."""
    return getattr(_local, 'moment', None)


def install():
    if getattr(fields.Datetime.now, 'plant_bridge_original', None) is None:
        fields.Datetime.now = staticmethod(_now)
