"""Hub mode: one deploy sweeps every account of an AWS Organization (docs/organization.md)."""
