"""The customer list: rows from a Google Sheet or a CSV file become ``customer.updated``.

``phones`` normalises numbers, ``table`` turns rows with a header into customers and
bad rows, ``sources`` reads a sheet or a CSV file, ``sync`` compares with the
``customers`` projection and plans the events, ``interval`` runs it in the server.
"""
