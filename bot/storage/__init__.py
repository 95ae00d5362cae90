"""Storage: the tables, the database connection, migrations and whole-database transfer."""
