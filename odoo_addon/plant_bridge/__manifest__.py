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
        'security/plant_bridge_ui_security.xml',
        'security/plant_bridge_binding_security.xml',
        'data/plant_bridge_data.xml',
        'data/ir_cron_data.xml',
        'wizard/plant_bridge_message_discard_views.xml',
        'wizard/plant_bridge_sidecar_connect_views.xml',
        'wizard/plant_bridge_site_onboard_views.xml',
        'views/plant_bridge_api_token_views.xml',
        'views/plant_bridge_site_views.xml',
        'views/plant_bridge_connector_views.xml',
        'views/plant_bridge_mapping_views.xml',
        'views/plant_bridge_schedule_run_views.xml',
        'views/plant_bridge_schedule_views.xml',
        'views/plant_bridge_reconciliation_views.xml',
        'views/plant_bridge_sor_views.xml',
        'views/plant_bridge_sidecar_views.xml',
        'views/plant_bridge_config_revision_views.xml',
        'views/plant_bridge_message_views.xml',
        'views/plant_bridge_replay_views.xml',
        'views/plant_bridge_outbound_views.xml',
        'views/plant_bridge_metric_snapshot_views.xml',
        'views/plant_bridge_quality_result_views.xml',
        'views/mrp_workcenter_views.xml',
        'views/stock_lot_views.xml',
        'views/res_users_views.xml',
        'views/plant_bridge_sample_views.xml',
        'views/plant_bridge_client_actions.xml',
        'views/plant_bridge_connector_test_views.xml',
        'views/mrp_production_views.xml',
        'views/plant_bridge_menus.xml',
        'views/plant_bridge_legacy_menus.xml',
        'views/plant_bridge_binding_views.xml',
        'views/plant_bridge_mapping_shadow_views.xml',
        'views/plant_bridge_audit_views.xml',
    ],
    'demo': [
        'demo/plant_bridge_demo.xml',
    ],
    # OWL screens: built from owl_src/ by `npm run build:owl` and committed (no Node needed here)
    'assets': {
        'web.assets_backend': [
            'plant_bridge/static/src/bundle/**/*.js',
            'plant_bridge/static/src/scss/**/*.scss',
            'plant_bridge/static/src/xml/**/*.xml',
        ],
        # loaded on demand by the Mapping Studio: JSONata + the canonical validator
        'plant_bridge.mapping_engine': [
            'plant_bridge/static/src/lazy/mapping_engine.js',
        ],
        'web.assets_unit_tests': [
            'plant_bridge/static/src/lazy/mapping_engine.js',
            'plant_bridge/static/tests/**/*.test.js',
        ],
    },
    'application': True,
    'installable': True,
}
