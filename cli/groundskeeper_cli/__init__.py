"""`groundskeeper`: the functions' own logic, run from a terminal or a CI job instead of Lambda."""
