from ..clock import event_time
from ..exceptions import EventDeferred, EventRejected
from .base import Handler

STATUSES = ('started', 'paused', 'finished')
#: how long the sidecar waits before asking again about a finish that waits for a start or an
#: unblock (Odoo posts it again itself as soon as that arrives)
WAITING_RETRY = 300


class WorkorderStatusHandler(Handler):
    """`workorder_status`: start / pause / finish a work order through its own buttons.

    A `finished` with a quantity is the work order's count of the units produced; in Odoo the
    work order's quantity producing is the order's (one field for both), and the `production`
    reports count the same units: the order's quantity producing becomes the larger of the two
    (a smaller work order count does not lower what `production` reported, a later `production`
    does not add the same units again), and a bare `finish` completes it. Ending the work order proposes
    components only for moves nothing was reported on (`button_finish` skips picked moves, and
    a consumption report leaves its move picked). The quantity is in the order's unit, or in `uom`.

    The buttons run at the event's `occurredAt` (`clock.event_time`): timers open and close, the
    work order and the order are dated, and the excess over the expected duration is split off
    as reduced speed exactly as if someone had pressed them then, however late the event is
    posted. A `paused` / `finished` before the start of the running timer cannot be (the timer
    would end before it began): `state_conflict`. An event dated in a locked period is refused
    `period_locked`.

    With an `operator` (badge or login, `resolve_operator`) the buttons are pressed as that
    person: Start opens their own timer (several people may work one order at once), Pause
    closes only theirs, as Odoo's buttons do for the user who presses them. Odoo offers Done
    only to someone working on the order and not while its work center is blocked: a finish
    before the work order started waits (deferred `workorder_not_started`), one on a blocked
    work center too (`workcenter_blocked`); Odoo posts it again when the start or the unblock
    arrives (`plant_bridge.message._release_waiting_finishes`). A finish of a work order already
    done - its order was marked done first, which ends its work orders - changes nothing, as Done
    pressed on a done work order changes nothing: applied (refused `state_conflict` only when its
    quantity differs from what the work order counted).
    """
    event_type = 'workorder_status'
    required = ('order', 'operation', 'status')

    def object_key(self, event):
        return ('order', event.get('order'))

    def apply(self, item):
        event = item.event
        status = self.get_str(event, 'status')
        if status not in STATUSES:
            raise EventRejected('schema', f"status must be one of {', '.join(STATUSES)}")
        quantity = self.get_quantity(event, required=False)
        finished = status == 'finished'
        production = self.resolve_order(item, self.get_str(event, 'order'), allow_done=finished)
        workorder = self.resolve_workorder(item, production, self.get_str(event, 'operation'), allow_done=finished)
        operator = self.get_str(event, 'operator', required=False)
        user = self.resolve_operator(item, operator) if operator else None
        if quantity is not None:
            quantity = self.in_unit(event, quantity, production.product_uom_id)
        occurred = self.get_datetime(event, 'occurredAt')
        self.check_period(production.company_id, occurred)
        if workorder.state == 'done':
            return self._already_done(workorder, quantity)
        if status == 'finished':
            check_can_finish(workorder)
        if status != 'started':
            self.check_running_since(workorder, occurred, user if status == 'paused' else None)
        pressed = workorder.with_user(user).sudo() if user else workorder
        with event_time(occurred):
            if status == 'started':
                pressed.button_start()
            elif status == 'paused':
                pressed.button_pending()
            else:
                if quantity is not None:
                    if production.product_id.tracking != 'serial':
                        production.plant_bridge_qty_workorder = quantity
                        quantity = production._plant_bridge_qty_produced()
                    workorder.qty_producing = quantity
                pressed.button_finish()
            # what the buttons leave to compute (the work order's duration counts running timers
            # up to now) is computed at the event's time, as at the end of the button's request
            self.env.flush_all()
        return workorder

    @staticmethod
    def _already_done(workorder, quantity):
        """Done pressed on a work order already done (its order was closed first - Mark as Done
        ends its work orders - or an earlier finish) changes nothing in Odoo (`button_finish`
        skips done work orders): applied as that, unless it counts other units than were done."""
        if quantity is not None and workorder.production_id.product_uom_id.compare(
                quantity, workorder.qty_produced):
            raise EventRejected('state_conflict', (
                f"Work order {workorder.name} of {workorder.production_id.name} is done with "
                f"{workorder.qty_produced:g} produced, not {quantity:g}"))
        return workorder


def check_can_finish(workorder):
    """Odoo's Done is offered only on a started work order whose work center is not blocked:
    a finish before either waits (deferred) and is posted again when the start / unblock comes."""
    name = f"{workorder.name} of {workorder.production_id.name}"
    if workorder.state != 'progress':
        raise EventDeferred('workorder_not_started', (
            f"Work order {name} has not started: its finish waits for the start"), retry_after=WAITING_RETRY)
    if workorder.workcenter_id.working_state == 'blocked':
        raise EventDeferred('workcenter_blocked', (
            f"Work center {workorder.workcenter_id.name} is blocked: the finish of {name} waits until it is "
            f"unblocked"), retry_after=WAITING_RETRY)
