"""The store stage: the backend seam routes query through, and the killable query pool.

Kept empty: the query processes import this package and must start light.
"""
