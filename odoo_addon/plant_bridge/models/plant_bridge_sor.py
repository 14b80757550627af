from odoo import fields, models

SOR_DOMAINS = [
    ('items', 'Items'),
    ('boms', 'Bills of Materials'),
    ('routings', 'Routings'),
    ('workcenters', 'Work Centers'),
    ('lots', 'Lots / Serials'),
    ('order_release', 'Order Release'),
    ('consumption', 'Consumption'),
    ('confirmation', 'Confirmation'),
    ('quality_hold', 'Quality Hold'),
    # who decides when a work center was down: a plant downtime over an interval still open in
    # Odoo (a manual Block) takes its place (plant) or is refused state_conflict (odoo)
    ('machine_states', 'Machine States'),
]
DEFAULT_SOR_OWNERS = {'lots': 'plant', 'consumption': 'plant', 'confirmation': 'plant',
                      'quality_hold': 'plant', 'machine_states': 'plant'}


class PlantBridgeSor(models.Model):
    """System-of-record matrix: which system owns each kind of data for a site."""
    _name = 'plant_bridge.sor'
    _description = 'Plant Bridge System of Record'
    _inherit = ['plant_bridge.config.mixin']
    _order = 'site_id, id'

    site_id = fields.Many2one('plant_bridge.site', required=True, ondelete='cascade', index=True)
    domain = fields.Selection(SOR_DOMAINS, required=True)
    owner = fields.Selection([('odoo', 'Odoo'), ('plant', 'Plant')], required=True, default='odoo')
    note = fields.Char()

    _site_domain_unique = models.Constraint('unique(site_id, domain)',
                                            'Each domain has one system of record per site.')

    def _default_matrix_commands(self):
        return [fields.Command.create({'domain': domain, 'owner': DEFAULT_SOR_OWNERS.get(domain, 'odoo')})
                for domain, _label in SOR_DOMAINS]
