@month_3 @destructive @seed_4_1 @seed_5_2
Feature: March drill: cross-Region warm-standby cutover
  The plan's March drill (seed 4.1): the warm standby in ap-northeast-1 takes over within 45
  minutes including DNS, following runbook 5.2. Its pre-checks come first and stop the drill,
  naming the one that failed, before anything is cut. The trigger is the primary region
  becoming unavailable: every link between it and its clients and between it and the standby
  region is cut. After the takeover RDS records the failover (5.2 step 2: the cluster's read
  replica in ap-northeast-1 promoted), then the weight moves (step 3); step 5 copies the name
  of the last archived WAL segment (`pg/last-lsn.txt`) into ap-northeast-1's bucket, from the
  backups bucket's replica there (the primary region is cut off, and so is CRR), and waits
  until that replica holds the archive up to it. The clients reach the service by the weighted
  records of "api.glancy", so they follow the cutover only once the weight has moved and their
  resolvers' answers have expired (the records' TTL): the RTO is measured by the probes
  through that front door, from the cut to the first window at 99% success. Replication
  between the regions is asynchronous: what the primary region acknowledged after the
  standby's last replayed WAL is lost, which the RPO bounds. The plan's SLA of 99.0% holds
  over its cutover window, the 45 minutes from the cut: a cutover done in seconds ends the
  drill long before the window does, so the window's SLA counts the time the probes saw the
  service unavailable, and the rest of the window at the success they saw after recovery, of
  which the check needs at least 10 s: the workload runs 12 s after the last step, as its last
  probe may end up to an interval before the wait does. 99% of 45 minutes leaves 27 s without
  service: a slower DNS TTL or takeover spends it. The spot check (4.3) draws 20 of the rows
  written since the takeover, which no later step may lose, and reads each back from
  ap-northeast-1.

  Background:
    Given the reference service is up

  Scenario: The primary region is cut off and ap-northeast-1 takes over
    Given replication of "glancy-exports" is Enabled
    And "lookup-bff" has at least 2 Ready replicas in ap-northeast-1
    And within 30 seconds the database in ap-northeast-1 is a streaming standby
    And the weighted record "api.glancy" is configured
    And probes call "/lookup" and "/history" every 100 ms
    And a writer commits numbered rows every 50 ms
    And the baseline is measured for 2 seconds
    When the region ap-southeast-1 is cut off
    And the outage is detected after 2 seconds
    And the warm standby in ap-northeast-1 takes over
    And the database cluster "glancy-main" fails over to ap-northeast-1
    And 100% of the weight of "api.glancy" moves to ap-northeast-1
    And within 60 seconds the probes succeed again
    And "pg/last-lsn.txt" is copied from "glancy-dr-ap-sg" in ap-northeast-1 to "glancy-dr-apne1" in ap-northeast-1
    And within 60 seconds the WAL archive in "glancy-dr-ap-sg/pg" is replicated to ap-northeast-1 up to "glancy-dr-apne1/pg/last-lsn.txt"
    And the workload runs for 12 more seconds
    Then the probes saw the outage
    And the RTO is at most 45 minutes
    And the RTO by Prometheus at the front door is at most 45 minutes
    And the SLA over the 45 minutes from T0 is at least 99.0%
    And the LLM adapter answers in full from ap-northeast-1
    And the RPO is at most 5 minutes
    And a spot check of 20 rows acknowledged since the takeover by ap-northeast-1 finds each in the database in use as written
