@runbook @destructive @seed_5_1
Feature: Runbook 5.1: cross-AZ failover within the Region
  Runbook 5.1 of the plan (跨 AZ，同 Region), step for step; each comment above a group of
  steps quotes the runbook line they execute, and the report links each step to section 5.1.
  Any one of the runbook's triggers starts it: an AZ losing power or its network jittering
  for 3 minutes or more, an RDBMS replication lag above 5 s, a Redis node unreachable. Here
  az-a degrades and all three are caused for real through Toxiproxy: az-a's database link
  jitters, the replication link to az-b is slowed until the lag, as sampled on both sides,
  exceeds 5 s, and the Redis node in az-a is cut off. The lag and the unreachable node are
  observed before the runbook starts; the jitter's own 3 minutes are not waited out, as either
  of the other two triggers the runbook alone. T0 is the first fault, the jitter. az-a's
  database still runs: what az-b had not replayed when it was promoted is lost, which the
  RPO at the promotion (the lag) and at the service's move (the writes) both measure. The
  Redis replica is the az-b node the runbook fails over to; once the service uses it, L2 is
  forced (完成后启用强制 L2): each replica's own L1 cache is emptied and bypassed, so every
  cached answer is what the promoted node holds, and the mode outlives step 4's restart. The
  drill closes within the runbook's 120 minutes: the ledger checks T1−T0. The lag trigger is
  also the plan's alert (section 2: pg_replication_lag ≥5 s), which must page within a minute
  of T0; Prometheus reads the lag from the primary (pg_stat_replication), since a standby
  cannot see the WAL it has not received. The page names by its trace id the newest request
  that wrote the lookup history, the write the lagging standby lacks first.

  The jitter is also a trigger alone. In the second scenario az-a's database link answers a
  second late, each round trip of a lookup's transaction: lookups take longer than the plan's
  2.5 s, with no error, and the latency page (section 2: P95 >2.5 s) must fire and name by its
  trace id a lookup that took that long. The probes give up after the profile's timeout, as
  impatient clients do, and call again; the service still answers each, and times it. The
  page's P95 is over the last minute, so it fires once the slow lookups are 5% of that
  minute's, after the fast ones of a drill just before have aged out of it if need be.

  Background:
    Given the reference service is up

  Scenario: az-a degrades, and the service, its database and its cache move to az-b
    Given probes call "/lookup" and "/history" every 100 ms
    And a writer commits numbered rows every 50 ms
    And a Redis probe pings the cache every 100 ms
    And the replication lag of az-b is sampled every 200 ms
    And the baseline is measured for 2 seconds
    # 5.1 触发条件：某 AZ 机房断电/网络抖动 ≥3 分钟
    And "pg-az-a" answers 100 ± 80 ms late
    # 5.1 触发条件：RDBMS 复制延迟 >5 s
    And "pg-replication-az-b" answers 6000 ms late
    And within 30 seconds the replication lag of az-b is above 5 seconds
    And within 30 seconds the alert "PostgresReplicationLag" has fired
    # 5.1 触发条件：Redis 节点不可达
    And the network to "redis" is cut
    And within 10 seconds the probes of "redis:cache" fail
    # 5.1 执行步骤 1：kubectl cordon az-a；kubectl scale deploy lookup-bff -n prod --replicas=0 --selector=topology.kubernetes.io/zone=az-a
    When the nodes of az-a are cordoned
    And the Deployments of az-a in "prod" are scaled to 0
    # 5.1 执行步骤 2：promote-standby.sh --candidate=az-b（pg_ctl promote + 连接串更新）
    And the standby in az-b is promoted
    And the service is pointed at the database in az-b
    # 5.1 执行步骤 3：redis-cli --cluster failover redis-prod:6379 --to 10.0.0.12:6379 && redis-cli --cluster rebalance redis-prod:6379
    And the Redis replica is promoted
    And the service is pointed at the Redis replica
    # 5.1 执行步骤 3：完成后启用强制 L2
    And forced L2 is enabled
    # 5.1 执行步骤 4：kubectl rollout restart bff 以刷新配置，并验证探针恢复
    And "lookup-bff" in "prod" is restarted
    And within 60 seconds the probes succeed again
    And within 30 seconds the probes of "redis:cache" succeed again
    And the workload runs for 5 more seconds
    # 5.1 验证：kubectl get pods -l zone!=az-a 全部 Ready
    And within 60 seconds every pod outside az-a is Ready
    # 5.1 验证：psql 'postgresql://readonly@lookup' -c "select max(applied_lsn)" 与主库差异 <5 min
    Then the RPO by replication lag when az-b was promoted is at most 5 minutes
    And the RPO when the service moved to az-b is at most 5 minutes
    # 5.1 执行步骤 3：完成后启用强制 L2
    And no lookup was answered from L1 after forced L2 was enabled
    # 2 RTO：历史/配置 ≤30 min，Redis 缓存/配额计数 ≤10 min
    And the RTO is at most 30 minutes
    And the RTO by Prometheus at the front door is at most 30 minutes
    And the RTO of "redis:cache" is at most 10 minutes
    # 2 监控：pg_replication_lag ≥5 s（告警触发即进入本 DR Plan）
    And the alert "PostgresReplicationLag" fired within 60 seconds of the fault
    And the alert "PostgresReplicationLag" carries a runbook link and a trace_id

  # 5.1 触发条件：网络抖动. 2 监控：P95 >2.5 s
  Scenario: az-a's database link jitters, and the latency page names a request slower than 2.5 s
    Given probes call "/lookup" every 100 ms
    When "pg-az-a" answers 1000 ± 200 ms late
    And within 60 seconds the alert "GlancyLatencyP95" has fired
    Then the alert "GlancyLatencyP95" fired within 60 seconds of the fault
    And the alert "GlancyLatencyP95" carries a runbook link and a trace_id
