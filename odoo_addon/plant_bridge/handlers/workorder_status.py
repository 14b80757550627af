from ..exceptions import EventRejected
from .base import Handler

STATUSES = ('started', 'paused', 'finished')


class WorkorderStatusHandler(Handler):
    """`workorder_status`: start / pause / finish a work order through its own buttons."""
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
        if workorder.state in ('done', 'cancel'):
            raise EventRejected('state_conflict', f"Work order {operation} of {production.name} is {workorder.state}")
        if status == 'started':
            workorder.button_start()
        elif status == 'paused':
            workorder.button_pending()
        else:
            if quantity is not None:
                workorder.qty_producing = quantity
            workorder.button_finish()
        return workorder
