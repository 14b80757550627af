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
