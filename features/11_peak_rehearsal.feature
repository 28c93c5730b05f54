@month_11 @destructive @seed_4_1
Feature: November drill: the combined rehearsal before the sales peak
  The plan's November drill (seed 4.1, 大促前综合演练): within 2 hours, the circuit-break, the
  PITR and the release rollback, one after the other against one workload, and every script
  passes the first time (所有脚本一次通过). Each part begins at its marker step; no step is
  retried, so a part whose step raises fails there and the parts after it are not reached.
  The ledger entry lists each part with its outcome and counts the parts that did not pass the
  first time as a figure, whatever happens (a failed part ends the scenario before any Then);
  the Then lines judge the thresholds of the three drills (January's, February's and June's)
  and the time of the whole.

  Background:
    Given the reference service is up

  Scenario: Circuit-break, PITR and release rollback in one rehearsal, each script passing once
    Given the service runs 2 replicas of v1
    And the lookups table holds history for 20 users
    And probes call "/lookup" every 100 ms, waiting up to 2.5 seconds
    And probes call "/history" every 100 ms
    And within 10 seconds lookups are answered in full again
    # 4.1 一月：Doubao 熔断→降级
    When the part "熔断" of the rehearsal begins
    And "llm" answers 1500 ms late
    # 4.1 一月：熔断 within January's 10 s, waited for here: the rollout below restarts the
    # replicas, and with them the breaker's own record of when it opened
    And within 10 seconds the LLM circuit breaker has opened
    And the network to "llm" is cut
    And the workload runs for 3 more seconds
    And the network to "llm" is restored
    And within 30 seconds lookups are answered in full again
    # 4.1 二月：RDBMS PITR
    And the part "PITR" of the rehearsal begins
    And the restore target time is marked
    And a bad DELETE removes every lookup
    And the base backup and archived WAL are restored to the target time into a new instance
    # 4.1 六月：零停机发布回滚
    And the part "发布回滚" of the rehearsal begins
    And the contract corpus "contract-lookup-v1" passes 100%
    And v2 is rolled out replica by replica
    And the contract corpus "contract-lookup-v1" fails
    And the release is rolled back to v1
    And the contract corpus "contract-lookup-v1" passes 100%
    # 4.1 十一月：2 小时内覆盖熔断、PITR、发布回滚；所有脚本一次通过
    Then the rehearsal took at most 2 hours
    And every lookup during the fault was answered with the degraded payload
    And full answers returned within 30 seconds of the restore
    And the restored "lookups" table equals its state at the target time
    And the restore took at most 30 minutes
    And the rollback took at most 5 minutes
    And no request failed during the rolling steps
