"""Landing family: the landing page, the health check and the browse pages."""
