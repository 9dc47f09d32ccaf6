"""Names vulture reports as unused that are used where it cannot look; each entry says who uses it.

vulture matches names, not objects: `_.name` below marks every `name` in the tree as used, so keep this
list short and remove an entry when its reason goes. `make lint` runs vulture with this file (pyproject's
[tool.vulture]). This file is read, never imported.
"""

from types import SimpleNamespace

_ = SimpleNamespace()

_ = (
    # TypedDict keys written by Python and read by the email templates or by whoever reads the JSON
    # result (documented in docs/cors-auditor.md and docs/eip-janitor.md); no Python reads them back.
    _.finding_count,  # cors-finding template
    _.remediated,  # cors-finding template, the auditor's report
    _.rewritten_rules,  # the auditor's report: which rules a remediation rewrote
    _.dropped_rules,  # the auditor's report: which rules a remediation dropped
    _.new_configuration,  # the auditor's report: the CORS configuration a remediation wrote
    _.remediation_error,  # the auditor's report: why a remediation failed
    _.trigger_key,  # the auditor's report: the object key that triggered the audit
    _.skip_reasons,  # the auditor's report: how many records were skipped, per reason
    _.savings_usd,  # eip-janitor-report template
    _.dns_held_back,  # eip-janitor-report template
    _.release_after,  # the janitor's report: when a real run releases an idle address
    _.failed_accounts,  # org-sweep-report template
    # CodeDeploy's lifecycle hook event (deploy_canary.probe.HookEvent): read by key, as hook["..."].
    _.DeploymentId,
    _.LifecycleEventHookExecutionId,
    # The canary's verdict: read from its log line and its return value, by whoever looks at a deployment.
    _.sender_version,
    # The SQS partial batch response: Lambda's event source mapping reads these keys.
    _.itemIdentifier,
    _.batchItemFailures,
    # html.parser.HTMLParser calls these on the subclass that checks template HTML.
    _.handle_starttag,
    _.handle_startendtag,
    _.handle_endtag,
    _.handle_data,
    # Powertools' idempotency response hook is called with (response, data record).
    _.idempotent_data,
    # The Lambda context's attributes, read by Powertools' inject_lambda_context (tests/lambda_context.py).
    _.function_name,
    _.memory_limit_in_mb,
    _.invoked_function_arn,
    # pytest reads `pytestmark`; fixtures requested only for their effect (an empty moto account, a build).
    _.pytestmark,
    _.aws,
    _.sam_built,
    # botocore reads a canned response body through `raw.stream()` (tests' fake urllib3 responses).
    _.stream,
    # http.server calls these on the request handler of the tests' fake foreign moto server.
    # shlex reads it to split the docs' commands at whitespace (tests/unit/test_doc_commands.py).
    _.whitespace_split,
    _.do_GET,
    _.do_POST,
    _.log_message,
    # A bucket report's keys are set and read by name (report["remediation_note"]): vulture cannot follow.
    _.remediation_note,
    # The Handlebars.js oracle's result: tests/oracle/render.js writes it, the parity test reads it by key.
    _.phase,
)
