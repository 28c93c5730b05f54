@destructive @seed_2
Feature: Configuration and secrets: a release that fails its check, a key near its expiry
  The last row of the plan's section 2, 配置/密钥（ConfigCenter + KMS）, pages on "Config 校验失败"
  and "密钥轮换即将过期". No month of the calendar drills that row, so this feature does, after
  the runbooks. The config center publishes a release to every replica; each replica checks a
  release it has not seen as its own start would, and keeps serving what it loaded. A release
  that fails the check must page ConfigCheckFailed, with the runbook link and the release's
  trace id (the one the replicas' check logged), and clear once the config center publishes
  what the replicas run again. A secret declared to expire within a week must page
  KeyRotationDue, and its rotation must clear the page. No client request may fail meanwhile.

  Background:
    Given the reference service is up

  Scenario: A release that fails the replicas' check is rolled back
    Given lookups cycle through 100 words every 20 ms
    When a configuration with "database.pool_max" set to 0 is published
    And within 30 seconds the alert "ConfigCheckFailed" has fired
    And the configuration the replicas run is published again
    And within 30 seconds the alert "ConfigCheckFailed" has resolved
    Then the alert "ConfigCheckFailed" fired within 60 seconds of the fault
    And the alert "ConfigCheckFailed" carries a runbook link and a trace_id
    And the alert "ConfigCheckFailed" resolved within 60 seconds of the repair
    And no request to "/lookup" failed during the drill

  Scenario: A secret near its expiry is rotated
    Given lookups cycle through 100 words every 20 ms
    When the key "billing.callback_secret" is published to expire in 3 days
    And within 30 seconds the alert "KeyRotationDue" has fired
    And the key "billing.callback_secret" is rotated, valid 90 days
    And within 30 seconds the alert "KeyRotationDue" has resolved
    Then the alert "KeyRotationDue" fired within 60 seconds of the fault
    And the alert "KeyRotationDue" carries a runbook link and a trace_id
    And the alert "KeyRotationDue" resolved within 60 seconds of the repair
    And no request to "/lookup" failed during the drill
