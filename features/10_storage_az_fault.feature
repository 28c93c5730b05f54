@month_10 @destructive @seed_4_1 @seed_2
Feature: October drill: object storage faults, cross-region replication and versioning
  The plan's October drill (seed 4.1): export artifacts live in a versioned bucket replicated
  from ap-southeast-1 to ap-northeast-1 (CRR lag ≤60 s, seed section 3), and an artifact
  deleted by mistake is recoverable from its previous version. Seed section 2 alerts when the
  CRR lag exceeds 60 s; the lag is measured by canary objects as the age of the oldest object
  not yet replicated. Seeing that alert fire takes more than 60 s of blocked replication, so
  this drill runs longer than the others; no threshold is scaled down to save time. The
  alerting system must page it too: the monitoring's own replication canary, in a bucket of
  its own replicated through the same link, exports the lag it sees to Prometheus, whose
  S3CrrLag alert must fire within 75 s of the block (the minute and a few scrapes) and clear
  once the backlog has drained. The spot
  check (4.3, 产物恢复) draws 20 of the canaries written while replication was blocked and reads
  each in ap-northeast-1, hashed against what was written. While the deleted artifact is
  gone, its users' downloads fail: the store's own request counts must page the plan's
  download-failure signal (section 2: ≥2% of downloads), and clear once it is restored and
  the failures have left the rule's 30 s window. The plan sets no time for an alert: a
  minute is allowed each way (MinIO refreshes the counts it serves every few seconds).

  Background:
    Given the reference service is up

  Scenario: Replication to the DR region is blocked, then restored
    Given canary objects are written to bucket "glancy-exports" every 1000 ms
    # a drill just before may have cut replication too: its backlog drains first, as after
    # this drill's own restore
    And within 120 seconds the CRR backlog of "glancy-exports" has drained
    When replication to ap-northeast-1 is blocked
    And within 75 seconds the CRR lag of "glancy-exports" is above 60 seconds
    And within 30 seconds the alert "S3CrrLag" has fired
    And replication to ap-northeast-1 is restored
    And within 120 seconds the CRR backlog of "glancy-exports" has drained
    And within 60 seconds the alert "S3CrrLag" has resolved
    Then the CRR lag of "glancy-exports" crossed the 60 second alert threshold while replication was blocked
    And the CRR backlog of "glancy-exports" drained within 15 minutes of the restore
    And the CRR lag of "glancy-exports" is at most 60 seconds
    And the alert "S3CrrLag" fired within 75 seconds of the fault
    And the alert "S3CrrLag" carries a runbook link and a trace_id
    And the alert "S3CrrLag" resolved within 60 seconds of the recovery
    And every object in "glancy-exports" is replicated from ap-southeast-1 to ap-northeast-1 with the same content
    And every version in "glancy-exports" is the same in ap-southeast-1 and ap-northeast-1
    And a spot check of 20 canaries written to "glancy-exports" while replication was blocked finds each in ap-northeast-1 with the content it was written with

  Scenario: An artifact deleted by mistake is restored from its previous version
    Given an artifact "exports/drill/report.json" is stored in bucket "glancy-exports"
    And users download the artifact "exports/drill/report.json" every 200 ms
    And within 60 seconds the artifact "exports/drill/report.json" is back in ap-northeast-1
    When the artifact "exports/drill/report.json" is deleted by mistake
    And within 60 seconds the alert "S3DownloadFailures" has fired
    And the artifact "exports/drill/report.json" is restored from its previous version
    And within 60 seconds the artifact "exports/drill/report.json" is back in ap-northeast-1
    And within 60 seconds the alert "S3DownloadFailures" has resolved
    Then the artifact "exports/drill/report.json" has its original content in ap-southeast-1 and ap-northeast-1
    And the artifact "exports/drill/report.json" was recovered within 15 minutes
    And the alert "S3DownloadFailures" fired within 60 seconds of the fault
    And the alert "S3DownloadFailures" carries a runbook link and a trace_id
    And the alert "S3DownloadFailures" resolved within 60 seconds of the recovery
    And every version in "glancy-exports/exports/drill/" is the same in ap-southeast-1 and ap-northeast-1
