@month_4 @destructive @seed_4_1 @seed_2
Feature: April drill: export task replay and cross-Region replication check
  The plan's April drill (seed 4.1): `POST /exports` answers within 5 s throughout, since it
  only records and queues the task; the tasks that failed or were interrupted are found from
  the task queue's offset snapshot (seed 3.1) and replayed, all completing within 15 minutes
  (the export chain's RTO, seed section 2); every artifact reaches the DR region (CRR) with the
  content its task recorded, and no task is lost or completed twice. The plan's signal for the
  export queue (section 2: consumer lag above 1 minute) must page when the worker stays down
  longer than that, and clear once the queue is drained: the second scenario keeps the worker
  down until the alert has fired, the plan's minute not being scaled down, so it runs about a
  minute and a half. The page names by its trace id the request that queued the oldest
  waiting task.

  Background:
    Given the reference service is up

  Scenario: The export worker dies mid-task, then object storage is unreachable
    Given exports are requested every 100 ms
    And the workload has run for 2 seconds
    When the export worker is killed mid-task
    And the workload runs for 2 more seconds
    And the export worker is restarted
    And the network to "s3" is cut
    And the workload runs for 4 more seconds
    And the network to "s3" is restored
    And the workload runs for 4 more seconds
    And failed exports are replayed from the queue snapshot
    And exports are no longer requested
    And within 60 seconds every acknowledged export is done
    And within 60 seconds every object in "glancy-exports" is replicated from ap-southeast-1 to ap-northeast-1
    Then every request to "/exports" was answered within 5 seconds
    And no request to "/exports" failed during the drill
    And every acknowledged export was completed exactly once
    And the replayed exports completed within 15 minutes
    And every object in "glancy-exports" is replicated from ap-southeast-1 to ap-northeast-1 with the same content
    And every export artifact in ap-northeast-1 has the content hash its task recorded
    # 4.3 抽查：导出任务重放，随机抽 20 条失败任务
    And a spot check of 20 replayed exports drawn at random downloads each with the content its task recorded

  Scenario: The export worker stays down for over a minute: the consumer lag pages and clears
    Given exports are requested every 500 ms
    And the workload has run for 2 seconds
    When the export worker is killed mid-task
    And the workload runs for 55 more seconds
    And within 30 seconds the alert "ExportConsumerLag" has fired
    And the export worker is restarted
    And failed exports are replayed from the queue snapshot
    And exports are no longer requested
    And within 60 seconds every acknowledged export is done
    And within 30 seconds the alert "ExportConsumerLag" has resolved
    Then the alert "ExportConsumerLag" fired within 75 seconds of the fault
    And the alert "ExportConsumerLag" carries a runbook link and a trace_id
    And the alert "ExportConsumerLag" resolved within 30 seconds of the recovery
    And every acknowledged export was completed exactly once
    And no request to "/exports" failed during the drill
