from ..clock import event_time
from ..exceptions import EventRejected
from .base import Handler


class ScrapHandler(Handler):
    """`scrap`: a validated `stock.scrap`, from `location` when given, else from the MO's locations
    when `order` is given, else from the warehouse's stock.

    The plant has physically scrapped the goods: when Odoo's stock says there is not enough
    (action_validate returns its warning wizard), the scrap is done anyway, as the wizard's
    confirmation would. With `uom`, a unit the scrap form offers for the product (its own, its
    packagings', its vendors') is kept on the scrap; any other unit that measures the same thing
    is converted to the product's unit, as a person would type it.

    The scrap is validated at the event's `occurredAt` (`clock.event_time`): the scrap's date,
    its move and move lines carry the time the goods were scrapped, however late the event is
    posted; one dated in a locked period is refused `period_locked`.
    """
    event_type = 'scrap'
    required = ('product', 'quantity')

    def _location(self, item, name):
        """An internal location of the site's warehouse, by full name or barcode, as the scrap
        form's Source Location offers them."""
        warehouse = item.site.warehouse_id
        location = self.env['stock.location'].search([
            ('usage', '=', 'internal'), ('id', 'child_of', warehouse.view_location_id.id),
            '|', ('complete_name', '=', name), ('barcode', '=', name)], limit=1)
        if not location:
            raise EventRejected('unknown_location', f"No internal location {name} in warehouse {warehouse.code}")
        return location

    def object_key(self, event):
        return ('order', event['order']) if event.get('order') else None

    def apply(self, item):
        event = item.event
        quantity = self.get_quantity(event)
        product = self.resolve_product(item, self.get_str(event, 'product'))
        production = self.env['mrp.production']
        if order := self.get_str(event, 'order', required=False):
            # a done order's output may be scrapped, as the Scrap button of a done order allows
            production = self.resolve_order(item, order, allow_done=True)
        lot = self.env['stock.lot']
        if lot_name := self.get_str(event, 'lot', required=False):
            lot = self.resolve_lot(item, lot_name, product)
        location = self._location(item, where) if (where := self.get_str(event, 'location', required=False)) else None
        return self.make_scrap(item, product, quantity, self.get_uom(event), production, lot, location,
                               self.get_str(event, 'reason', required=False), self.get_datetime(event, 'occurredAt'))

    def make_scrap(self, item, product, quantity, uom, production, lot, location, reason, occurred):
        """The validated scrap a person makes with the Scrap button / form (also a
        nonconformance's scrap disposition): from `location`, else the order's locations, else
        the warehouse's stock."""
        if not location:
            location = item.site.warehouse_id.lot_stock_id
            if production:
                location = (production.location_dest_id if product == production.product_id
                            else production.location_src_id)
        uom = uom or product.uom_id
        if uom not in product.uom_id | product.uom_ids | product.seller_ids.product_uom_id:
            if not uom._has_common_reference(product.uom_id):
                raise EventRejected('bad_uom', f"{uom.name} cannot be converted to {product.uom_id.name}")
            quantity, uom = uom._compute_quantity(quantity, product.uom_id, rounding_method='HALF-UP'), product.uom_id
        vals = {
            'product_id': product.id,
            'product_uom_id': uom.id,
            'scrap_qty': quantity,
            'lot_id': lot.id or False,
            'company_id': item.site.company_id.id,
            'location_id': location.id,
            'production_id': production.id or False,
            'origin': production.name or False,
        }
        if reason:
            vals['scrap_reason_tag_ids'] = [(6, 0, self._reason_tag(reason).ids)]
        self.check_period(item.site.company_id, occurred)
        with event_time(occurred):
            scrap = self.env['stock.scrap'].create(vals)
            if scrap.action_validate() is not True:
                scrap.do_scrap()
        return scrap

    def _reason_tag(self, name):
        Tag = self.env['stock.scrap.reason.tag']
        return Tag.search([('name', '=ilike', name)], limit=1) or Tag.create({'name': name})
