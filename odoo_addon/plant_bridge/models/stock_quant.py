from odoo import models


class StockQuant(models.Model):
    _inherit = 'stock.quant'

    def _gather(self, product_id, location_id, lot_id=None, package_id=None, owner_id=None, strict=False, qty=0):
        """Quants of lots under a quality hold are left out of a reservation the hold concerns
        (context `plant_bridge_held_lot_ids`, set by `stock.move._update_reserved_quantity_vals`)."""
        quants = super()._gather(product_id, location_id, lot_id=lot_id, package_id=package_id,
                                 owner_id=owner_id, strict=strict, qty=qty)
        held = self.env.context.get('plant_bridge_held_lot_ids')
        if held:
            quants = quants.filtered(lambda q: q.lot_id.id not in held)
        return quants
