"""Per-event outcomes raised by handlers.

They never leave ``plant_bridge.api.post_events``: the posting loop turns them into a
``rejected`` / ``deferred`` result and a trace row (see docs/odoo-api.md).
"""

#: Stable rejection codes (docs/odoo-api.md). Tests assert codes, never message text.
REJECTION_CODES = (
    'schema', 'unknown_site', 'unknown_order', 'unknown_product', 'unknown_lot',
    'unknown_workcenter', 'unknown_operation', 'unknown_equipment', 'ambiguous_equipment',
    'bad_quantity', 'bad_uom',
    'state_conflict', 'quality_hold', 'unauthorized', 'not_system_of_record', 'unexpected',
    'period_locked', 'bad_loss', 'unknown_location', 'unknown_operator',
    'unknown_picking', 'unknown_package', 'unknown_customer', 'bad_digest', 'too_large',
)
#: `parked_behind_rejection`: an earlier stock-moving event of the order was rejected and is
#: not settled yet; `quality_hold`: a finish waiting for the order's (or its lot's) hold to be lifted;
#: `workorder_not_started` / `workcenter_blocked`: a work order finish waiting for its start, or for
#: its work center to be unblocked (Odoo's Done button is not offered before either)
DEFERRAL_CODES = ('order_not_ready', 'waiting_for_earlier', 'parked_behind_rejection', 'quality_hold',
                  'workorder_not_started', 'workcenter_blocked')


class EventRejected(Exception):
    """A permanent error for one event: bad data or an unknown business key."""

    def __init__(self, code, message):
        assert code in REJECTION_CODES, code
        super().__init__(message)
        self.code = code
        self.message = message
        #: called by the posting loop once the event's savepoint is rolled back: records that
        #: must survive the refusal (e.g. the attempt a quality hold blocked)
        self.after_rollback = None


class EventDeferred(Exception):
    """The event is valid but what it depends on is not ready yet (retry later)."""

    def __init__(self, code, message, retry_after=30):
        assert code in DEFERRAL_CODES, code
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = retry_after
