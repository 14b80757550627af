from ..exceptions import EventRejected
from .base import Handler


class QualityHandler(Handler):
    """`quality`: a `plant_bridge.quality.result`; a failing result with `hold` holds the order
    and the lot (completion, consumption into other orders and deliveries blocked until a
    manager releases it). A result may come for an order in any state but cancelled: tests
    on the finished goods often end after the order is done - a hold on a done order holds the
    lots it produced."""
    event_type = 'quality'
    required = ('test', 'result')

    def object_key(self, event):
        return ('order', event['order']) if event.get('order') else None

    def _resolve_order(self, item, name):
        production = self.find_order(item.site, name)
        if not production:
            raise EventRejected('unknown_order', f"No manufacturing order {name} on site {item.site.code}")
        item.links['production_id'] = production.id
        if production.state == 'cancel':
            raise EventRejected('state_conflict', f"{name} is cancelled")
        return production

    def apply(self, item):
        event = item.event
        result = self.get_str(event, 'result')
        if result not in ('pass', 'fail'):
            raise EventRejected('schema', "result must be 'pass' or 'fail'")
        if event.get('hold') is not None and not isinstance(event['hold'], bool):
            raise EventRejected('schema', "'hold' must be a boolean")
        production = self.env['mrp.production']
        if order := self.get_str(event, 'order', required=False):
            production = self._resolve_order(item, order)
        product, lot = self.resolve_goods(item, event, production)
        hold = bool(event.get('hold')) and result == 'fail'
        value = event.get('value')
        return self.env['plant_bridge.quality.result'].create({
            'name': self.get_str(event, 'test'),
            'site_id': item.site.id,
            'result': result,
            'value': str(value) if value is not None else False,
            'occurred_at': self.get_datetime(event, 'occurredAt'),
            'production_id': production.id or False,
            'product_id': product.id or False,
            'lot_id': lot.id or False,
            'hold': hold,
            'hold_state': 'held' if hold else 'none',
        })
