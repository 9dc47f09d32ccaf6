"""Hub mode's planner: one work item per member account, for the job its schedule names."""
