@month_8 @destructive @seed_4_1 @seed_4_3 @seed_5_1
Feature: August drill: PITR re-test with a random spot check
  The plan's August drill (seed 4.1, 数据库 PITR 复测: 同 2 月；抽查 SQL 结果一致性): February's
  cross-AZ switch again, under the same RTO 30 minutes and RPO 5 minutes, then the spot check
  of seed 4.3 (PITR 备份校验: 随机恢复 <time>，差异 0 条). The restore target is drawn at random
  from the scenario so far while clients write, with the session's seed: the progress line and
  the ledger print it, and `--dr-seed` gives it back to draw the same point of the window again.
  The restored copy is compared table by table with the source as it was at that time (the
  rows committed by then, by PostgreSQL's commit timestamps), and the line of the plan's
  spot-check record (日期, 抽查项, 样本/结果, 备注) goes into the ledger entry. The tables are
  the plan's (lookups, results, profiles, orders), with the entitlements and subscriptions
  the orders grant, while clients pay.

  Orders are the plan's 订阅/订单/账单 row: PITR plus order reconciliation. A bad DELETE of
  every entitlement is undone by a restore to before it, which loses the orders paid after its
  target; the payment provider (a stand-in locally) still holds them, so once the service uses
  the restored copy the reconciliation job records them again, and every payment a client was
  told was paid must end with its order and exactly one entitlement, none granted twice by a
  callback delivered again. The row's signals are asserted as the alerting system delivers
  them: the job run first without repair finds the lost orders and pages
  (BillingReconciliationFailed), the repair clears it, and the entitlements it grants page as
  delayed (EntitlementDelayed): the bad DELETE comes 6 s after the target, so the first orders
  paid after the target are more than 5 s old when they are granted. Each page names the
  checkout of a payment it concerns.

  Background:
    Given the reference service is up

  Scenario: Cross-AZ switch after the az-a primary is killed, as in February
    Given probes call "/lookup" and "/history" every 100 ms
    And a writer commits numbered rows every 50 ms
    And a SQL probe queries the database every 100 ms
    And the replication lag of az-b is sampled every 200 ms
    And the baseline is measured for 2 seconds
    When the PostgreSQL primary in az-a is killed with SIGKILL
    And the outage is detected after 2 seconds
    And the standby in az-b is promoted
    And the service is pointed at the database in az-b
    And within 30 seconds the probes succeed again
    And the workload runs for 8 more seconds
    Then the probes saw the outage
    And the RTO is at most 30 minutes
    And the RPO is at most 5 minutes
    And the RPO by replication lag is at most 5 minutes
    And the P95 of "/history" during the drill is at most 2.5 seconds
    And the RTO by Prometheus is at most 30 minutes

  Scenario: A restore point drawn at random is restored and every table compared with the source
    Given the lookups table holds history for 20 users
    And probes call "/lookup" and "/history" every 100 ms
    And payments are made every 200 ms
    And the baseline is measured for 3 seconds
    # 4.3 抽查：PITR 备份校验，随机恢复
    When a restore target time is drawn at random since the scenario began
    And the base backup and archived WAL are restored to the target time into a new instance
    # 4.3 抽查：差异 0 条
    Then the restored tables "lookups", "results", "profiles", "orders", "entitlements" and "subscriptions" equal the source at the target time
    And the restore took at most 30 minutes

  Scenario: The orders paid after the restore's target are reconciled, each entitled once
    Given payments are made every 100 ms
    And the baseline is measured for 2 seconds
    And the restore target time is marked
    When the workload runs for 6 more seconds
    And a bad DELETE removes every entitlement
    And the base backup and archived WAL are restored to the target time into a new instance
    And the service is pointed at the restored instance
    # 2 订阅/订单/账单：信号：账单对账失败
    And the orders are checked against the payment provider
    And within 30 seconds the alert "BillingReconciliationFailed" has fired
    # 2 订阅/订单/账单：PITR + 订单对账（RTO ≤30 min，RPO ≤5 min）
    And the orders are reconciled with the payment provider
    And within 30 seconds the alert "BillingReconciliationFailed" has resolved
    # 2 订阅/订单/账单：信号：权益延迟 >5 s
    And within 30 seconds the alert "EntitlementDelayed" has fired
    Then every payment acknowledged before the target time has its order and one entitlement
    And every payment acknowledged during the drill has its order and one entitlement
    And the restore took at most 30 minutes
    And the alert "BillingReconciliationFailed" carries a runbook link and a trace_id
    And the alert "EntitlementDelayed" carries a runbook link and a trace_id
