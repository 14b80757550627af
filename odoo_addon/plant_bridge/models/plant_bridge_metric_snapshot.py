from odoo import fields, models


class PlantBridgeMetricSnapshot(models.Model):
    """Counters a sidecar pushes with its heartbeat (for the dashboard and history)."""
    _name = 'plant_bridge.metric.snapshot'
    _description = 'Plant Bridge Metric Snapshot'
    _order = 'at desc, id desc'
    _rec_name = 'at'

    sidecar_id = fields.Many2one('plant_bridge.sidecar', required=True, ondelete='cascade', index=True)
    site_id = fields.Many2one(related='sidecar_id.site_id', store=True, index=True)
    at = fields.Datetime(required=True, index=True)
    connector = fields.Char()
    received = fields.Integer()
    applied = fields.Integer()
    rejected = fields.Integer()
    duplicate = fields.Integer()
    outbox_depth = fields.Integer()
    dead_letters = fields.Integer()
    oldest_pending_age = fields.Float(help="Seconds.")
    critical_pending = fields.Integer(
        help="Events of the critical posting lane (production, consumption, quality...) not yet in Odoo.")
    critical_lag = fields.Float(help="Seconds: age of the oldest event of the critical lane not yet in Odoo.")
    bulk_pending = fields.Integer(
        help="Events of the bulk posting lane (machine states, telemetry summaries) not yet in Odoo.")
    held = fields.Integer(help="Events a posting window keeps waiting (not failed).")
    held_until = fields.Datetime(help="When the first of the waiting events posts.")
    bulk_lag = fields.Float(help="Seconds: age of the oldest event of the bulk lane not yet in Odoo.")
    latency_p50 = fields.Float('Latency p50 (s)')
    latency_p95 = fields.Float('Latency p95 (s)')
    latency_p99 = fields.Float('Latency p99 (s)')
    odoo_up = fields.Boolean()
