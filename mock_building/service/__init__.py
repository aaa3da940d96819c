"""The LobbyKey access service (mock building): FastAPI over SQLite or PostgreSQL, on the protocol's HTTP models.

    app = await app_for_scenario(load_scenario(path), clock=SystemClock(), database=dir / "service.sqlite3")
    served = await serve_app(app, "127.0.0.1", 8750)      # mock_building.building.serving; `await served.stop()`

Endpoints (prefix /v1; OpenAPI at /openapi.json; every error is application/problem+json):
    POST auth/sign-in, auth/refresh          driver sessions (opaque bearer tokens, refresh rotates)
    POST handheld-keys                       register the handheld's Ed25519 key -> key id
    GET  routes/today                        the driver's stops, packages, doors, windows
    POST grants                              the security gate (see gate.py)
    POST receipts                            relay door receipts (verified, chained, gaps reported)
    POST deliveries                          idempotent on the client's delivery id
    GET  audit?building_id=&after=&limit=    building manager (or admin) feed, cursor in X-Audit-Cursor
    POST revocations                         admin: revoke a grant or a handheld key
    POST admin/drivers/{id}/revocation       admin: revoke a driver
    GET/PUT admin/faults                     admin: latency_ms, error_rate, down (503, admin exempt;
                                             every worker within 0.5 s)
"""

from mock_building.service.app import app_for_scenario, create_app, signers_for
from mock_building.service.context import ServiceConfig
from mock_building.service.seed import seed_database
from mock_building.service.signers import CarrierSigner
from mock_building.service.storage import MEMORY, Database, open_database

__all__ = [
    "MEMORY",
    "CarrierSigner",
    "Database",
    "ServiceConfig",
    "app_for_scenario",
    "create_app",
    "open_database",
    "seed_database",
    "signers_for",
]
