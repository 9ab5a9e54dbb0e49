"""The build stage: sourced CSV → Turtle → SHACL-validated, described, immutable store."""
