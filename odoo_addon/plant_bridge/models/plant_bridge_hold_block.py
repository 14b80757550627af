import logging

from odoo import api, fields, models

_logger = logging.getLogger(__name__)


class PlantBridgeHoldBlock(models.Model):
    """One attempt a quality hold refused: a delivery of a held lot validated, a held lot
    consumed by another order (in Odoo's screens or reported by the plant).

    A refusal in Odoo's screens rolls back the attempt's transaction, so the row is written
    through a cursor of its own (`_record`); a plant event's refusal writes it after the event's
    savepoint is rolled back. The blocked document is kept by model, id and name, without a foreign
    key: it may not be committed yet when it is refused.
    """
    _name = 'plant_bridge.hold.block'
    _description = 'Plant Bridge Quality Hold Block'
    _order = 'id desc'

    result_id = fields.Many2one('plant_bridge.quality.result', 'Quality Hold', required=True,
                                ondelete='cascade', index=True, readonly=True)
    site_id = fields.Many2one(related='result_id.site_id', store=True)
    company_id = fields.Many2one(related='result_id.company_id', store=True)
    production_id = fields.Many2one(related='result_id.production_id', store=True, index='btree_not_null',
                                    string='Held Order')
    lot_id = fields.Many2one('stock.lot', 'Held Lot', readonly=True)
    operation = fields.Selection([('delivery', 'Delivery'), ('consumption', 'Consumption')],
                                 required=True, readonly=True)
    res_model = fields.Char('Blocked Document Model', readonly=True)
    res_id = fields.Many2oneReference('Blocked Document ID', model_field='res_model', readonly=True)
    res_name = fields.Char('Blocked Document', readonly=True)
    user_id = fields.Many2one('res.users', 'Attempted By', readonly=True)

    @api.model
    def _record(self, vals_list):
        """Write the rows in a transaction of their own, committed whatever happens to the
        caller's (which is about to be rolled back by the refusal). Never raises: a refusal must
        reach the user even if its record cannot be written."""
        try:
            with self.env.registry.cursor() as cr:
                cr.execute("SET LOCAL lock_timeout = '5s'")
                self.with_env(self.env(cr=cr, su=True)).create(vals_list)
        except Exception:  # noqa: BLE001
            _logger.warning("plant_bridge: could not record a blocked attempt under a quality hold", exc_info=True)
