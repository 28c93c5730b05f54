@seed_3_1
Feature: The backup matrix holds
  The plan's backup matrix (seed 3.1), checked where the backups land, without changing
  anything: safe on any profile. PostgreSQL takes a base backup every 6 h and archives WAL
  every minute into s3://glancy-dr-ap-sg/pg/ (base backups in `pg/%Y%m%d%H/`, complete once
  their `backup_manifest` is there), keeping base backups 35 days and WAL 7 days; Redis appends
  with `appendfsync everysec`; the export bucket is versioned and replicated; the configuration
  is snapshotted every 4 h into s3://glancy-dr-shared/config/. Retention is read from the
  archive's contents: nothing it covers missing, nothing deleted early. An archive younger than
  its retention is judged over its own age, and the check says so. On the embedded
  environment the stack produces these backups as it starts, and the checks read them as they
  would read a live archive. This feature runs before the calendar, on the environment as it
  stands before any drill breaks it.

  Scenario: PostgreSQL's base backups and WAL archive
    Then the newest base backup in "glancy-dr-ap-sg/pg" is at most 6 hours old
    And WAL archiving to "glancy-dr-ap-sg/pg" lags at most 1 minute
    And base backups in "glancy-dr-ap-sg/pg", taken every 6 hours, are kept 35 days
    And WAL in "glancy-dr-ap-sg/pg" is kept 7 days

  Scenario: Redis, object storage and configuration
    Then the Redis primary appends with appendfsync everysec
    And the bucket "glancy-exports" is versioned in ap-southeast-1
    And replication of "glancy-exports" is Enabled
    And the newest configuration snapshot in "glancy-dr-shared/config" is at most 4 hours old
