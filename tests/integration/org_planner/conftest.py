"""The hub's fixtures (a member world, the runs table), shared with the planner's tests."""

from tests.integration.org.conftest import runs_table

__all__ = ["runs_table"]
