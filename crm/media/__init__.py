"""Media files kept by crm (what agents send, and later what customers send).

Files are content-addressed: a file's id is the SHA-256 of its bytes, so the same
photo sent twice is kept once, and an id can be checked against its file.
"""
