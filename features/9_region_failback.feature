@month_9 @destructive @seed_4_1 @seed_5_2
Feature: September drill: failback to the primary region
  The plan's September drill (seed 4.1): after a cutover to ap-northeast-1, traffic fails
  back to ap-southeast-1 within 30 minutes, by the steps of runbook 5.2 taken the other way
  (5.2 step 4: 主 Region 恢复后按相同步骤回切，确保 RTO ≤30 min，记录 diff). The cutover is
  March's. Then the primary region's links come back and its databases are rebuilt as a warm
  standby of ap-northeast-1, which took every write meanwhile; the failback fences
  ap-northeast-1 (its database read-only, its sessions ended), waits until az-a has replayed
  all of its WAL and until the exports ap-northeast-1 stored have come back by CRR (the plan's
  版本化 + CRR 回切, at most its 60 s CRR limit), records the diff between the two regions (every
  table, every version of the exports bucket, and the Redis keys, which the plan lets a cutover
  lose and so are recorded, not compared with 0), and promotes az-a.
  The clients follow the weight back as their resolvers' answers expire: the failback's RTO is
  measured from the fence to the first window at 99% success through the front door, with
  10 s observed at the end so that a window of probes follows the last step. Nothing
  acknowledged in either region may be lost. ap-northeast-1 then returns to its normal state,
  a warm standby with its replicas Ready. The spot check (4.3) draws 20 of the rows
  ap-northeast-1 acknowledged once it had taken over and reads each back from az-a.

  Background:
    Given the reference service is up

  Scenario: After a cutover, ap-southeast-1 is rebuilt from ap-northeast-1 and takes the traffic back
    Given "lookup-bff" has at least 2 Ready replicas in ap-northeast-1
    And within 30 seconds the database in ap-northeast-1 is a streaming standby
    And the weighted record "api.glancy" is configured
    And probes call "/lookup" and "/history" every 100 ms
    And a writer commits numbered rows every 50 ms
    And exports are requested every 250 ms
    And the baseline is measured for 2 seconds
    When the region ap-southeast-1 is cut off
    And the outage is detected after 2 seconds
    And the warm standby in ap-northeast-1 takes over
    And 100% of the weight of "api.glancy" moves to ap-northeast-1
    And within 60 seconds the probes succeed again
    And the links of ap-southeast-1 are restored
    And the region ap-southeast-1 is rebuilt as a warm standby
    And within 60 seconds the database in az-a is a streaming standby
    And the warm standby in ap-southeast-1 takes over
    And 100% of the weight of "api.glancy" moves to ap-southeast-1
    And within 60 seconds the probes succeed again
    And the region ap-northeast-1 is rebuilt as a warm standby
    And within 60 seconds the database in ap-northeast-1 is a streaming standby
    And the workload runs for 10 more seconds
    Then the RTO from the takeover by ap-southeast-1 is at most 30 minutes
    And the RTO by Prometheus at the front door from the takeover by ap-southeast-1 is at most 30 minutes
    And no table differed between the regions when ap-southeast-1 took over
    And no object differed between the regions when ap-southeast-1 took over
    And the RPO is at most 5 minutes
    And a spot check of 20 rows acknowledged since the takeover by ap-northeast-1 finds each in the database in use as written
    And "lookup-bff" has at least 2 Ready replicas in ap-northeast-1
