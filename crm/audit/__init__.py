"""Audit tools over the log: export, verification, online backup and import.

Each is a plain function over a SQLite connection or file, shared by the CLI
(``crm export|verify|backup|import``) and the API (``GET /api/export``).
"""
