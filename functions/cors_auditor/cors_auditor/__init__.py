"""CORS auditor: judges S3 bucket CORS configurations against a policy and reports findings."""
