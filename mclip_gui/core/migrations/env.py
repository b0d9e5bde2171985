"""Alembic environment: runs on the connection handed over by core.store.upgrade."""

from alembic import context

from mclip_gui.core.schema import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # run from the alembic command line
    from sqlalchemy import create_engine

    connection = create_engine(config.get_main_option("sqlalchemy.url") or "").connect()

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
