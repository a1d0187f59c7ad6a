"""SQLAlchemy tables and the queries that load the domain's inputs."""
