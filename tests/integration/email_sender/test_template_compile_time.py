"""A template's first send compiles it, within the invocation's time as a send is bounded by it: a template
too large to compile within a third of the function's timeout is dead-lettered with the reason, at once; one
that the invocation's deadline stopped earlier is retried, and sent by a redelivery with the time for it.

The Lambda context's clock moves only when read (every few hundred tokens the compile reads it): nothing
here is timed.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tests.integration.email_sender.conftest import SenderWorld
from tests.lambda_context import FakeLambdaContext


@dataclass
class SteppingContext(FakeLambdaContext):
    """Its remaining times, one per read: 100 ms less at each read unless the test says otherwise."""

    readings: Iterator[int] = field(default_factory=lambda: itertools.count(30_000, -100))

    def get_remaining_time_in_millis(self) -> int:
        return next(self.readings)


def publish_large_template(world: SenderWorld, name: str) -> dict[str, Any]:
    """A template whose HTML part reads the clock a few hundred times as it compiles; a request for it."""
    rows = "".join(
        f"<tr><td>{{{{#if flag}}}}{{{{row.value}}}}{{{{/if}}}} {i}</td></tr>\n" for i in range(4000)
    )
    world.ses.create_template(
        Template={"TemplateName": name, "SubjectPart": "Report", "TextPart": "See HTML", "HtmlPart": rows}
    )
    return {"template": name, "to": ["ada@example.com"], "data": {"flag": True, "row": {"value": "v"}}}


def test_a_template_too_large_to_compile_in_a_third_of_the_timeout_is_dead_lettered_with_why(
    world: SenderWorld,
) -> None:
    record = world.record(publish_large_template(world, "large-report"))
    world.lambda_context = SteppingContext()

    assert world.invoke(record) == {"batchItemFailures": []}

    [(_, attrs)] = world.dead_letters()
    assert attrs["error_code"] == "InvalidTemplate"
    assert "html: too large to compile within 10 s, the most any invocation allows" in attrs["error_message"]
    assert world.sent() == []


def test_a_compile_cut_short_by_the_invocations_deadline_is_retried_and_then_sent(world: SenderWorld) -> None:
    record = world.record(publish_large_template(world, "late-report"))
    # The invocation started with 30 s; this record starts with 12 s left, 4 s more than its send needs.
    world.lambda_context = SteppingContext(readings=itertools.chain([30_000], itertools.count(12_000, -100)))

    assert world.failed_ids(world.invoke(record)) == [record["messageId"]]
    assert world.dead_letters() == []
    assert world.sent() == []

    world.lambda_context = SteppingContext(readings=itertools.count(30_000, -1))
    assert world.invoke(record) == {"batchItemFailures": []}
    assert len(world.sent()) == 1
