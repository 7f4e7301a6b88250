"""The `trialmatch` command line."""
