"""Named-query API family: ``/api/queries``, one operation per query file, and OpenAPI."""
