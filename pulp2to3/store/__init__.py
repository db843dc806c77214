"""The one layer through which actors and HTTP handlers read and write the database."""
