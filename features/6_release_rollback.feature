@month_6 @destructive @seed_4_1
Feature: June drill: a release with a contract break is rolled back
  Two replicas of the service run behind the nginx router. A release rolls replica by replica:
  each replica is drained at the router (its in-flight requests finish), stopped, started as
  the new version and put back once healthy. v2 carries a deliberate contract break (/lookup
  answers `meaning` instead of `definition`); the contract corpus recorded from v1 (500
  samples, features/data/contract-lookup-v1.jsonl) must catch it, and the rollback to v1 must
  complete within 5 minutes and restore the contract in full. The spot check (4.3) draws 20 of
  the probes' own lookups after the rollback, each to carry a definition and an example.

  Zero-downtime steps: the rollout and the rollback themselves, since every replica is
  drained before it stops. No probe may fail inside either window.

  Background:
    Given the reference service is up

  Scenario: v2 breaks the lookup contract and is rolled back to v1
    Given the service runs 2 replicas of v1
    And probes call "/lookup" every 100 ms
    And the contract corpus "contract-lookup-v1" passes 100%
    When v2 is rolled out replica by replica
    And the contract corpus "contract-lookup-v1" fails
    And the release is rolled back to v1
    And the contract corpus "contract-lookup-v1" passes 100%
    Then the rollback took at most 5 minutes
    And no request failed during the rolling steps
    And a spot check of 20 lookups drawn at random after the rollback finds each answered with a definition and an example
