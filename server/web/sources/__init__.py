"""Sources family: the sourced tables, compilation notes and mappings a release was made from."""
