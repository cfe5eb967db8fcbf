"""Full-text search's language: how text is cut into what the index holds, how an
agent's query becomes an FTS5 match, and where a match sits in the original text.

Pure functions of strings (nothing of the database): the ``search`` projection
(``crm.projections.search``) and its reader use them the same way live and in replay.
"""
