"""Hub mode's planner: a job's schedule becomes one work item per member account (docs/organization.md)."""
