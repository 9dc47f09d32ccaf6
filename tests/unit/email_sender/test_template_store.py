"""The checked template: rendering a request's email (the subject is one header line, the text part is
plain text, the HTML part escapes {{x}} and sanitizes the markup of {{{x}}} and {{& x}}), and its compile,
bounded as a send is: a template too large to compile within the budget that any invocation gives it is
refused for good (InvalidTemplate, with its reason); one stopped earlier by this invocation's own deadline is
retried (DeadlineNear). The clocks here are stand-ins: nothing is timed."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError

from email_sender.errors import (
    DEADLINE_NEAR,
    INVALID_TEMPLATE,
    MISSING_RENDERING_ATTRIBUTE,
    TEMPLATE_DOES_NOT_EXIST,
)
from email_sender.template_store import (
    CheckedTemplate,
    CompileTime,
    Template,
    TemplateStore,
    _CompileClock,
    check_template,
    load_bundled_template,
    one_line_subject,
    publish_template,
)
from groundskeeper.errors import PermanentError, TransientError
from groundskeeper.observability import logger


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


def test_a_folded_subject_is_logged_with_the_template_and_the_code_points_only() -> None:
    log = io.StringIO()
    # Powertools' Logger keeps the stream it started with; point it at a buffer meanwhile.
    previous = logger.registered_handler.setStream(log)  # type: ignore[attr-defined]
    try:
        subject, _, _ = render("Hi {{name}}", name="Ada\tLovelace\u202e")
        render("Hi {{name}}", name="Ada")
    finally:
        logger.registered_handler.setStream(previous)  # type: ignore[attr-defined]
    assert subject == "Hi Ada Lovelace"
    [line] = [json.loads(line) for line in log.getvalue().splitlines()]
    assert (line["level"], line["message"]) == ("WARNING", "subject folded to one line")
    assert (line["template"], line["removed"]) == ("app", ["U+0009", "U+202E"])
    assert "Ada" not in log.getvalue()


# -- refusals: what SES would accept and then drop -----------------------------------------------------


@pytest.mark.parametrize(
    ("parts", "code", "message"),
    [
        (("{{#if}}", "t", "h"), INVALID_TEMPLATE, "app: subject: line 1: expected OPEN_ENDBLOCK"),
        (("s", "{{#each}}x{{/each}}", "h"), INVALID_TEMPLATE, "template app, text part: Must pass iterator"),
        (("s", "t", "{{lookup a}}"), INVALID_TEMPLATE, "template app, html part: lookup takes exactly two"),
        (("s", "t", "<p>{{a.b}}</p>"), MISSING_RENDERING_ATTRIBUTE, "template app, html part: "),
    ],
)
def test_a_template_that_cannot_render_is_refused_naming_it_and_its_part(
    parts: tuple[str, str, str], code: str, message: str
) -> None:
    with pytest.raises(PermanentError) as refused:
        check_template(Template("app", *parts)).render({"a": 1})
    assert refused.value.code == code
    assert refused.value.message.startswith(message)


def test_a_syntax_error_is_kept_with_its_template_and_part() -> None:
    template = Template("app", "s", "{{#with x}}", "h")
    checked = check_template(template)
    assert checked.template == template and checked.parts == ()
    assert checked.syntax_error == "text: line 1: expected OPEN_ENDBLOCK, got end of template"


def test_a_checked_template_renders_only_with_its_three_parts() -> None:
    template = Template("app", "s", "t", "h")
    with pytest.raises(ValueError, match="zip"):
        CheckedTemplate(template, check_template(template).parts[:2]).render({})


# -- publishing and the store --------------------------------------------------------------------------


class FakeSes:
    """SES v1's template calls, in memory. `fail` maps a call to the error code it answers with; `on_get`
    runs inside each GetTemplate (to hold a fetch until another thread gets somewhere)."""

    def __init__(self, templates: dict[str, dict[str, str]]) -> None:
        self.templates = templates
        self.calls: list[tuple[str, str]] = []
        self.fail: dict[str, str] = {}
        self.on_get: Callable[[str], object] = lambda name: None

    def _call(self, call: str, name: str) -> None:
        self.calls.append((call, name))
        if call in self.fail:
            raise ClientError({"Error": {"Code": self.fail[call], "Message": "no"}}, call)

    def get_template(self, TemplateName: str) -> dict[str, Any]:
        self._call("GetTemplate", TemplateName)
        self.on_get(TemplateName)
        if TemplateName not in self.templates:
            raise ClientError({"Error": {"Code": "TemplateDoesNotExist", "Message": "no"}}, "GetTemplate")
        return {"Template": {"TemplateName": TemplateName, **self.templates[TemplateName]}}

    def create_template(self, Template: dict[str, str]) -> None:
        self._call("CreateTemplate", Template["TemplateName"])
        if Template["TemplateName"] in self.templates:
            raise ClientError({"Error": {"Code": "AlreadyExists", "Message": "no"}}, "CreateTemplate")
        self.templates[Template["TemplateName"]] = Template

    def update_template(self, Template: dict[str, str]) -> None:
        self._call("UpdateTemplate", Template["TemplateName"])
        self.templates[Template["TemplateName"]] = Template


def fake_ses(**templates: dict[str, str]) -> Any:
    return FakeSes(templates)


def test_publishing_creates_updates_or_leaves_what_another_sender_published() -> None:
    ses = fake_ses()
    template = Template("app", "Hi {{name}}", "t", "<p>h</p>")
    assert publish_template(ses, template, update_existing=False) == "created"
    assert ses.templates["app"] == {
        "TemplateName": "app",
        "SubjectPart": "Hi {{name}}",
        "TextPart": "t",
        "HtmlPart": "<p>h</p>",
    }
    assert publish_template(ses, template, update_existing=False) == "exists"
    assert publish_template(ses, template, update_existing=True) == "updated"
    assert [call for call, _ in ses.calls] == ["CreateTemplate"] * 3 + ["UpdateTemplate"]


def test_publishing_refuses_a_template_with_every_problem_named() -> None:
    ses = fake_ses()
    with pytest.raises(PermanentError) as refused:
        publish_template(ses, Template("bad", "two\nlines", "{{#if}}", "h"), update_existing=True)
    assert refused.value.code == INVALID_TEMPLATE
    assert refused.value.message == (
        "bad: syntax: text: line 1: expected OPEN_ENDBLOCK, got end of template;"
        " subject: must be one non-empty line"
    )
    assert ses.calls == []


def test_publishing_passes_any_other_error_on() -> None:
    ses = fake_ses()
    ses.fail["CreateTemplate"] = "Throttling"
    with pytest.raises(ClientError, match="Throttling"):
        publish_template(ses, Template("app", "s", "t", "h"), update_existing=True)


def test_the_store_reads_each_part_of_an_ses_template_and_an_absent_part_is_empty() -> None:
    ses = fake_ses(full={"SubjectPart": "s", "TextPart": "t", "HtmlPart": "h"}, bare={})
    store = TemplateStore(60)
    assert store.get(ses, "full").template == Template("full", "s", "t", "h")
    assert store.get(ses, "bare").template == Template("bare", "", "", "")


def test_a_name_neither_ses_nor_the_bundle_has_is_refused() -> None:
    ses = fake_ses()
    with pytest.raises(PermanentError) as refused:
        TemplateStore(60).get(ses, "nope")
    assert refused.value.code == TEMPLATE_DOES_NOT_EXIST
    assert refused.value.message == "no SES or bundled template named nope"
    assert ses.calls == [("GetTemplate", "nope")]


def test_a_missing_bundled_template_is_published_as_bundled() -> None:
    ses = fake_ses()
    checked = TemplateStore(60).get(ses, "example-welcome")
    assert checked.template == load_bundled_template("example-welcome")
    assert ses.calls == [("GetTemplate", "example-welcome"), ("CreateTemplate", "example-welcome")]


def test_a_bundled_template_another_sender_just_published_is_not_replaced() -> None:
    ses = fake_ses()
    ses.fail["GetTemplate"] = "TemplateDoesNotExist"
    ses.templates["example-welcome"] = {"SubjectPart": "theirs"}
    assert TemplateStore(60).get(ses, "example-welcome").template == load_bundled_template("example-welcome")
    assert ses.templates["example-welcome"] == {"SubjectPart": "theirs"}
    assert [call for call, _ in ses.calls] == ["GetTemplate", "CreateTemplate"]


def test_a_fetch_error_other_than_a_missing_template_is_passed_on() -> None:
    ses = fake_ses()
    ses.fail["GetTemplate"] = "Throttling"
    with pytest.raises(ClientError, match="Throttling"):
        TemplateStore(60).get(ses, "example-welcome")
    assert ses.calls == [("GetTemplate", "example-welcome")]


@pytest.mark.parametrize("ttl_seconds", [1, 60])
def test_a_template_is_trusted_for_its_ttl_then_fetched_again(ttl_seconds: int) -> None:
    now = [1000.0]
    store, ses = TemplateStore(ttl_seconds, clock=lambda: now[0]), fake_ses(app={"SubjectPart": "s"})
    first = store.get(ses, "app")
    now[0] += ttl_seconds - 0.5
    assert store.get(ses, "app") is first
    assert len(ses.calls) == 1
    now[0] += 0.5  # exactly its TTL: expired
    assert store.get(ses, "app") is not first
    assert len(ses.calls) == 2


def test_with_a_ttl_of_zero_nothing_is_kept_even_when_the_clock_steps_back() -> None:
    now = [1000.0]
    store, ses = TemplateStore(0, clock=lambda: now[0]), fake_ses(app={"SubjectPart": "s"})
    store.get(ses, "app")
    now[0] -= 100  # an injected wall clock may step back
    store.get(ses, "app")
    assert len(ses.calls) == 2


# -- the store under threads: each hook waits for the other thread, never for a time -------------------

WAIT_SECONDS = 10  # how long a hook waits for the other thread before the test gives up


@pytest.mark.parametrize(("ttl_seconds", "names"), [(60, ("a", "b")), (0, ("a", "a"))])
def test_fetches_that_share_nothing_do_not_wait_for_each_other(
    ttl_seconds: int, names: tuple[str, str]
) -> None:
    """Two names never wait for each other; with no cache, neither do two fetches of one name."""
    store, ses = TemplateStore(ttl_seconds), fake_ses(a={"SubjectPart": "a"}, b={"SubjectPart": "b"})
    both_fetching = threading.Barrier(2, timeout=WAIT_SECONDS)  # broken if one fetch waits for the other
    ses.on_get = lambda name: both_fetching.wait()
    with ThreadPoolExecutor(2) as pool:
        for done in [pool.submit(store.get, ses, name) for name in names]:
            done.result()
    assert sorted(ses.calls) == [("GetTemplate", name) for name in sorted(names)]


@pytest.mark.parametrize("ttl_seconds", [1, 60])
def test_a_use_that_finds_a_fetch_under_way_waits_for_it_and_takes_its_template(ttl_seconds: int) -> None:
    now = [1000.0]
    fetcher: list[threading.Thread] = []
    fetching, other_looked = threading.Event(), threading.Event()

    def clock() -> float:
        if fetcher and threading.current_thread() is not fetcher[0]:
            other_looked.set()
        return now[0]

    def fetch() -> CheckedTemplate:
        fetcher.append(threading.current_thread())
        return store.get(ses, "app")

    def hold_the_fetch(name: str) -> None:
        fetching.set()
        assert other_looked.wait(WAIT_SECONDS), "the other use never looked at the cache"

    store, ses = TemplateStore(ttl_seconds, clock=clock), fake_ses(app={"SubjectPart": "s"})
    store.get(ses, "app")
    now[0] += ttl_seconds  # expired: the two uses below fetch it again, once
    ses.on_get = hold_the_fetch  # the fetch lasts until the other use has found the template stale
    with ThreadPoolExecutor(1) as pool:
        fetched = pool.submit(fetch)
        assert fetching.wait(WAIT_SECONDS)
        waited = store.get(ses, "app")
        assert fetched.result() is waited
    assert len(ses.calls) == 2


def test_the_compile_budget_counts_from_the_checks_own_start_and_is_spent_at_exactly_the_budget() -> None:
    now = [100.0]
    clock = _CompileClock(CompileTime(budget=10.0, time_left=lambda: 50.0, clock=lambda: now[0]))
    now[0] = 109.5
    assert not clock.budget_spent()
    assert clock.time_left() == 0.5
    now[0] = 110.0
    assert clock.budget_spent()
    assert clock.time_left() == 0.0
    short = _CompileClock(CompileTime(budget=10.0, time_left=lambda: 3.0, clock=lambda: now[0]))
    assert short.time_left() == 3.0  # the invocation's own deadline, when it comes first


@pytest.mark.parametrize("ttl_seconds", [0, 60])
def test_the_store_compiles_within_the_compile_time_it_is_given_cached_or_not(ttl_seconds: int) -> None:
    template = large(f"store-{ttl_seconds}")
    ses = fake_ses(**{template.name: {"SubjectPart": template.subject, "HtmlPart": template.html}})
    checked = TemplateStore(ttl_seconds).get(
        ses, template.name, compile_time(10.0, lambda: 600.0, SteppingClock())
    )
    assert checked.parts == ()  # the budget ran out: refused when rendered
    with pytest.raises(PermanentError) as refused:
        checked.render({"name": "Ada"})
    assert refused.value.code == INVALID_TEMPLATE
