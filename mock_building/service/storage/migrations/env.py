"""Alembic's entry point, run by `mock_building.service.storage.schema` on a connection it opened."""

from alembic import context

context.configure(connection=context.config.attributes["connection"], target_metadata=None)
with context.begin_transaction():
    context.run_migrations()
