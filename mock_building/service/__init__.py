"""The LobbyKey access service (mock building, HTTP + SQLite).

    app = app_for_scenario(load_scenario(path), clock=SystemClock())   # or create_app(store, signers, config, clock=...)
    served = await serve_app(app, "127.0.0.1", 8750)                    # mock_building.serving
"""

from mock_building.service.app import app_for_scenario, create_app, signers_for
from mock_building.service.context import ServiceConfig
from mock_building.service.db import MEMORY, Store
from mock_building.service.gate import CarrierSigner
from mock_building.service.seed import seed_database

__all__ = ["CarrierSigner", "MEMORY", "ServiceConfig", "Store", "app_for_scenario", "create_app", "seed_database", "signers_for"]
