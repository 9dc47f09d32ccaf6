"""The checked template: rendering a request's email (the subject is one header line, the text part is
plain text, the HTML part escapes {{x}} and sanitizes the markup of {{{x}}} and {{& x}}), and its compile,
bounded as a send is: a template too large to compile within the budget that any invocation gives it is
refused for good (InvalidTemplate, with its reason); one stopped earlier by this invocation's own deadline is
retried (DeadlineNear). The clocks here are stand-ins: nothing is timed."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from email_sender.errors import DEADLINE_NEAR, INVALID_TEMPLATE
from email_sender.template_store import CompileTime, Template, check_template, one_line_subject
from groundskeeper.errors import PermanentError, TransientError


def render(subject: str = "s", text: str = "t", html: str = "h", **data: object) -> tuple[str, str, str]:
    rendered = check_template(Template("app", subject, text, html)).render(dict(data))
    return rendered.subject, rendered.text, rendered.html


@pytest.mark.parametrize(
    ("subject", "line", "removed"),
    [
        ("hi\r\nBcc: evil@example.com", "hi Bcc: evil@example.com", ["U+000A", "U+000D"]),
        ("hi\nBcc: evil@example.com", "hi Bcc: evil@example.com", ["U+000A"]),
        ("hi\rthere", "hi there", ["U+000D"]),
        ("a \t\r\n\t b", "a b", ["U+0009", "U+000A", "U+000D"]),
        ("Ada\n", "Ada ", ["U+000A"]),
        ("nul\x00byte and bell\x07", "nulbyte and bell", ["U+0000", "U+0007"]),
        ("del\x7f and c1\x9b", "del and c1", ["U+007F", "U+009B"]),
        (
            "next\x85line\u2028sep\u2029par\x0bvt\x0cff",
            "next line sep par vt ff",
            ["U+000B", "U+000C", "U+0085", "U+2028", "U+2029"],
        ),
        ("invoice\u202egnp.exe", "invoicegnp.exe", ["U+202E"]),
        (
            "\u202a\u202b\u202c\u202d x \u2066\u2067\u2068\u2069",
            " x ",
            ["U+202A", "U+202B", "U+202C", "U+202D", "U+2066", "U+2067", "U+2068", "U+2069"],
        ),
        # What right-to-left text and ordinary subjects need stays as it is.
        ("\u05e9\u05dc\u05d5\u05dd \u200fAda\u200e", "\u05e9\u05dc\u05d5\u05dd \u200fAda\u200e", []),
        ("Caf\u00e9 \u2014 5\u00a0\u20ac, \U0001f600", "Caf\u00e9 \u2014 5\u00a0\u20ac, \U0001f600", []),
        ("", "", []),
    ],
)
def test_a_subject_is_folded_to_one_line_without_controls(
    subject: str, line: str, removed: list[str]
) -> None:
    assert one_line_subject(subject) == (line, removed)


def test_a_subject_from_data_cannot_add_a_header() -> None:
    subject, text, _ = render(
        "Hi {{name}}, {{{name}}}", "Hello {{name}}", name="Ada\r\nBcc: evil@example.com"
    )
    assert subject == "Hi Ada Bcc: evil@example.com, Ada Bcc: evil@example.com"
    assert text == "Hello Ada\r\nBcc: evil@example.com"  # the body may hold line breaks


def test_a_triple_stash_is_plain_text_in_the_subject_and_text_and_sanitized_markup_in_the_html() -> None:
    value = '<b>Ada</b> & "co" <script>alert(1)</script>'
    subject, text, html = render(
        "{{{v}}} {{& v}}", "{{{v}}} {{& v}} {{v}}", "<p>{{{v}}}</p><p>{{& v}}</p><p>{{v}}</p>", v=value
    )
    assert subject == f"{value} {value}"
    assert text == f"{value} {value} {value}"
    escaped = "&lt;b&gt;Ada&lt;/b&gt; &amp; &quot;co&quot; &lt;script&gt;alert(1)&lt;/script&gt;"
    assert html == f'<p><b>Ada</b> &amp; "co" </p><p><b>Ada</b> &amp; "co" </p><p>{escaped}</p>'


def test_table_rows_passed_through_a_triple_stash_arrive_as_rows() -> None:
    rows = '<tr><td style="padding-left: 4px">1</td><td>Ada <img src=x onerror=alert(1)></td></tr>'
    _, _, html = render(html="<table>{{{rows}}}</table>", rows=rows)
    assert html == '<table><tr><td style="padding-left:4px">1</td><td>Ada <img></td></tr></table>'


def test_half_an_emoji_in_a_triple_stash_is_sanitized_as_u_fffd_as_the_part_is_sent() -> None:
    # JavaScript indexes strings by UTF-16 unit: `lookup s 1` is half of the emoji, which the sanitizer
    # (nh3, which takes UTF-8) cannot read as it stands.
    _, _, html = render(html="<p>{{{lookup s 1}}}</p><p>{{lookup s 1}}</p>", s="a\U0001f600b")
    assert html == "<p>\ufffd</p><p>\ufffd</p>"


def test_a_blocks_lookup_value_is_escaped_in_the_html_not_sanitized() -> None:
    subject, _, html = render(
        "{{#lookup . 'v'}}{{/lookup}}", html="<p>{{#lookup . 'v'}}{{/lookup}}</p>", v="<b>A</b>"
    )
    assert subject == "<b>A</b>"
    assert html == "<p>&lt;b&gt;A&lt;/b&gt;</p>"


class SteppingClock:
    """A clock that moves one second each time it is read."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def large(marker: str) -> Template:
    """A template whose HTML part takes a few hundred looks at the clock to compile."""
    rows = "".join(
        f"<tr><td>{{{{#if a}}}}{{{{b.c}}}}{{{{/if}}}} {marker} {i}</td></tr>\n" for i in range(3000)
    )
    return Template(name=f"large-{marker}", subject="Hi {{name}}", text="Hello {{name}}", html=rows)


def compile_time(budget: float, invocation_left: Callable[[], float], clock: SteppingClock) -> CompileTime:
    return CompileTime(budget=budget, time_left=invocation_left, clock=clock)


def test_a_template_that_outlasts_its_budget_is_refused_for_good_with_its_reason() -> None:
    clock = SteppingClock()
    checked = check_template(large("budget"), compile_time(10.0, lambda: 600.0, clock))

    assert checked.parts == ()
    with pytest.raises(PermanentError) as refused:
        checked.render({"name": "Ada"})
    assert refused.value.code == INVALID_TEMPLATE
    assert refused.value.message == (
        "large-budget: html: too large to compile within 10 s, the most any invocation allows"
    )


def test_a_compile_stopped_by_the_invocations_deadline_is_retried() -> None:
    clock = SteppingClock()
    invocation_left = iter(range(5, -100, -1))
    with pytest.raises(TransientError) as stopped:
        check_template(large("deadline"), compile_time(60.0, lambda: float(next(invocation_left)), clock))
    assert stopped.value.code == DEADLINE_NEAR
    assert (
        stopped.value.message == "too little time left in this invocation to compile template large-deadline"
    )


def test_the_same_template_compiles_when_the_budget_suffices_and_needs_no_time_once_compiled() -> None:
    template = large("suffices")
    clock = SteppingClock()
    checked = check_template(template, compile_time(10_000.0, lambda: 600.0, clock))
    assert len(checked.parts) == 3
    assert clock.now > 20  # the compile looked at the clock as it went

    no_time = check_template(template, compile_time(0.0, lambda: 0.0, SteppingClock()))
    assert no_time.parts == checked.parts  # compiled once per container: nothing left to bound


def test_without_a_deadline_nothing_bounds_the_compile() -> None:
    assert len(check_template(large("unbounded")).parts) == 3
