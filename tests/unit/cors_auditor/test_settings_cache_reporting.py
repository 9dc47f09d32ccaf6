"""Settings validation, the verdict cache's TTL, notification keys and email lines, the restore parser."""

from __future__ import annotations

import pytest

from cors_auditor.notification import findings_summary
from cors_auditor.report import config_hash, notification_key, should_notify
from cors_auditor.restore import saved_configurations
from cors_auditor.settings import Settings
from cors_auditor.verdict_cache import SeenKeys, VerdictCache
from groundskeeper.errors import SettingsError
from groundskeeper.notify import Notifier


def test_defaults() -> None:
    settings = Settings.from_env({})
    assert settings == Settings()
    assert settings.audit_cache_seconds == 300
    assert not settings.remediate
    assert not settings.notify.enabled
    assert settings.notify_min_severity == "MEDIUM"


def test_values_are_parsed() -> None:
    settings = Settings.from_env(
        {
            "ALLOWED_ORIGINS": " https://app.example.com, http://localhost:3000 ,",
            "REMEDIATION": "fix",
            "AUDIT_CACHE_SECONDS": "0",
            "NOTIFY_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/q",
            "NOTIFY_EMAIL": "ops@example.com,sec@example.com",
            "NOTIFY_MIN_SEVERITY": "HIGH",
        }
    )
    assert settings.allowed_origins == ("https://app.example.com", "http://localhost:3000")
    assert settings.remediate and settings.notify.enabled
    assert settings.notify.recipients == ("ops@example.com", "sec@example.com")
    assert settings.audit_cache_seconds == 0


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("REMEDIATION", "yes"),
        ("AUDIT_CACHE_SECONDS", "-1"),
        ("AUDIT_CACHE_SECONDS", "five"),
        ("NOTIFY_MIN_SEVERITY", "NONE"),
        ("ALLOWED_ORIGINS", "*"),
        ("ALLOWED_ORIGINS", "https://*.example.com"),
        ("ALLOWED_ORIGINS", "app.example.com"),
        ("ALLOWED_ORIGINS", "https://app.example.com/path"),
    ],
)
def test_bad_values_fail_naming_the_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({variable: value})
    assert raised.value.variable == variable


def test_verdict_cache_expires() -> None:
    now = [1000.0]
    cache = VerdictCache(clock=lambda: now[0])
    cache.put("b", {"bucket": "b"})
    assert cache.get("b", max_age=300) == {"bucket": "b"}
    now[0] += 299.9
    assert cache.get("b", max_age=300) is not None
    now[0] += 0.1
    assert cache.get("b", max_age=300) is None
    assert cache.get("b", max_age=0) is None
    assert cache.get("other", max_age=300) is None


def test_seen_keys() -> None:
    seen = SeenKeys()
    assert "k" not in seen
    seen.add("k")
    assert "k" in seen


FINDINGS = [
    {"rule_id": "wildcard-origin-write", "severity": "HIGH", "rule_index": 0, "detail": "origin '*' may PUT"},
    {
        "rule_id": "long-max-age",
        "severity": "LOW",
        "rule_index": 1,
        "detail": "MaxAgeSeconds 90000 is above 86400",
    },
]


def test_notification_key_depends_on_bucket_configuration_and_findings_only() -> None:
    rules = [{"AllowedOrigins": ["*"], "AllowedMethods": ["PUT"]}]
    same = [{"AllowedMethods": ["PUT"], "AllowedOrigins": ["*"]}]
    assert config_hash({"CORSRules": rules}) == config_hash({"CORSRules": same})
    key = notification_key("b", config_hash({"CORSRules": rules}), FINDINGS)
    assert key == notification_key("b", config_hash({"CORSRules": same}), list(reversed(FINDINGS)))
    assert key != notification_key("other", config_hash({"CORSRules": rules}), FINDINGS)
    assert key != notification_key("b", config_hash({"CORSRules": rules}), FINDINGS[:1])
    assert key != notification_key("b", config_hash({"CORSRules": [*rules, *rules]}), FINDINGS)


def test_who_gets_notified() -> None:
    on = Settings(notify=Notifier("https://q", ("ops@example.com",)))
    assert should_notify("non_compliant", "HIGH", on)
    assert not should_notify("non_compliant", "LOW", on)
    assert should_notify("non_compliant", "LOW", Settings(notify=on.notify, notify_min_severity="LOW"))
    assert not should_notify("access_denied", "NONE", on)
    assert not should_notify("non_compliant", "HIGH", Settings(notify=Notifier("https://q")))


def test_findings_summary_is_one_line_per_finding() -> None:
    assert findings_summary(FINDINGS).splitlines() == [
        "HIGH rule #1 wildcard-origin-write: origin '*' may PUT",
        "LOW rule #2 long-max-age: MaxAgeSeconds 90000 is above 86400",
    ]


PREVIOUS = {"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["PUT"]}]}


def test_restore_reads_every_document_the_auditor_writes() -> None:
    report = {"bucket": "b", "remediated": True, "previous_configuration": PREVIOUS}
    assert saved_configurations(report) == {"b": PREVIOUS["CORSRules"]}
    log_line = {"level": "INFO", "message": "previous CORS configuration saved", **report}
    assert saved_configurations(log_line) == {"b": PREVIOUS["CORSRules"]}
    result = {"audited": [report, {"bucket": "c", "remediated": False}], "skipped": 0}
    assert saved_configurations(result) == {"b": PREVIOUS["CORSRules"]}
    assert saved_configurations(PREVIOUS, bucket="d") == {"d": PREVIOUS["CORSRules"]}
    assert saved_configurations({"CORSRules": []}, bucket="d") == {"d": []}
    with pytest.raises(ValueError, match="--bucket"):
        saved_configurations(PREVIOUS)
