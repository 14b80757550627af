{
    'name': 'Plant Bridge',
    'version': '19.0.1.0.0',
    'category': 'Supply Chain/Manufacturing',
    'sequence': 60,
    'summary': 'Shop floor integration: one governed pipeline between plant systems and manufacturing',
    'description': """
Plant Bridge connects Odoo manufacturing with the shop floor through a sidecar service:
configuration of sites, connectors and mappings, one idempotent posting endpoint for
canonical plant events, a message trace with an exception queue, and outbound releases.
""",
    'author': 'Plant Bridge',
    'license': 'LGPL-3',
    'depends': ['mrp', 'maintenance', 'mail'],
    'data': [
        'security/plant_bridge_security.xml',
        'security/ir.model.access.csv',
        'data/plant_bridge_data.xml',
        'data/ir_cron_data.xml',
        'wizard/plant_bridge_message_discard_views.xml',
        'views/plant_bridge_api_token_views.xml',
        'views/plant_bridge_site_views.xml',
        'views/plant_bridge_connector_views.xml',
        'views/plant_bridge_mapping_views.xml',
        'views/plant_bridge_schedule_views.xml',
        'views/plant_bridge_sor_views.xml',
        'views/plant_bridge_sidecar_views.xml',
        'views/plant_bridge_config_revision_views.xml',
        'views/plant_bridge_message_views.xml',
        'views/plant_bridge_replay_views.xml',
        'views/plant_bridge_outbound_views.xml',
        'views/plant_bridge_metric_snapshot_views.xml',
        'views/plant_bridge_quality_result_views.xml',
        'views/mrp_workcenter_views.xml',
        'views/res_users_views.xml',
        'views/plant_bridge_menus.xml',
    ],
    'demo': [
        'demo/plant_bridge_demo.xml',
    ],
    'application': True,
    'installable': True,
}
