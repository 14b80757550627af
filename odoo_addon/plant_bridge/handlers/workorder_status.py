from ..clock import event_time
from ..exceptions import EventRejected
from .base import Handler

STATUSES = ('started', 'paused', 'finished')


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
        production = self.resolve_order(item, self.get_str(event, 'order'))
        operation = self.get_str(event, 'operation')
        workorder = production.workorder_ids.filtered(lambda wo: wo.name == operation)[:1]
        if not workorder:
            raise EventRejected('unknown_operation', f"{production.name} has no operation '{operation}'")
        item.links['workcenter_id'] = workorder.workcenter_id.id
        if quantity is not None:
            quantity = self.in_unit(event, quantity, production.product_uom_id)
        if workorder.state in ('done', 'cancel'):
            raise EventRejected('state_conflict', f"Work order {operation} of {production.name} is {workorder.state}")
        occurred = self.get_datetime(event, 'occurredAt')
        self.check_period(production.company_id, occurred)
        if status != 'started':
            self._check_running_since(workorder, occurred)
        with event_time(occurred):
            if status == 'started':
                workorder.button_start()
            elif status == 'paused':
                workorder.button_pending()
            else:
                if quantity is not None:
                    if production.product_id.tracking != 'serial':
                        production.plant_bridge_qty_workorder = quantity
                        quantity = production._plant_bridge_qty_produced()
                    workorder.qty_producing = quantity
                workorder.button_finish()
        return workorder

    def _check_running_since(self, workorder, occurred):
        running = workorder.time_ids.filtered(lambda t: not t.date_end and t.date_start > occurred)
        if running:
            raise EventRejected('state_conflict', (
                f"Work order {workorder.name} of {workorder.production_id.name} runs since "
                f"{min(running.mapped('date_start'))} UTC: it cannot stop at {occurred} UTC"))
