"""SPARQL family: the protocol endpoint, its service description and the query page."""
