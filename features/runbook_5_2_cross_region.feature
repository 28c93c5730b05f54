@runbook @destructive @seed_5_2
Feature: Runbook 5.2: cross-Region warm standby to active, and the failback
  Runbook 5.2 of the plan (跨 Region，Warm-Standby → Active), step for step; each comment above
  a group of steps quotes the runbook line they execute, and the report links each step to
  section 5.2. Its pre-checks come first and stop the drill before any fault, naming the one
  that failed. The trigger, the primary region unavailable, is caused (every link of
  ap-southeast-1 cut: T0) and observed (the probes' whole window fails). Then the cutover
  steps 1 to 5 in the runbook's order. Step 4 reads the LLM adapter as clients see it, from
  ap-northeast-1; step 5 copies `last-lsn.txt`, the name of the last WAL segment archived
  (PostgreSQL's archive is shipped to s3://glancy-dr-ap-sg/pg/ as it fills), into the standby
  region's bucket, from the backups bucket's replica in that region (the primary region is cut
  off, and so is CRR), and waits until the replica holds the archive up to that segment. The
  failback follows "by the same steps": the primary region's links back, its databases rebuilt
  as a warm standby of ap-northeast-1, its takeover with the diff of every table, and the
  weight back; RDS's record is not failed back (a promoted replica cluster cannot replicate
  again: the region's return to a warm standby rebuilds it). The acceptance's evidence is
  attached: the traffic per region (monitoring), the Route53 changes, the RDS failover record,
  and each attachment's SHA-256 in the ledger; closure within 120 minutes is checked on T1−T0
  there.

  Background:
    Given the reference service is up

  Scenario: ap-southeast-1 is cut off, ap-northeast-1 takes over, and the traffic fails back
    # 5.2 前置校验：aws s3api get-bucket-replication --bucket glancy-exports 返回 Status: Enabled
    Given replication of "glancy-exports" is Enabled
    # 5.2 前置校验：kubectl --context=ap-northeast-1 get deploy lookup-bff Ready ≥2 副本
    And "lookup-bff" has at least 2 Ready replicas in ap-northeast-1
    And within 30 seconds the database in ap-northeast-1 is a streaming standby
    # 5.2 前置校验：aws route53 list-resource-record-sets ... 确认权重路由已配置
    And the weighted record "api.glancy" is configured

    And probes call "/lookup" and "/history" every 100 ms
    And a writer commits numbered rows every 50 ms
    And exports are requested every 250 ms
    And the baseline is measured for 2 seconds
    # 5.2 触发条件：主 Region 长时间不可用
    And the region ap-southeast-1 is cut off
    And within 10 seconds the probes of "/lookup" fail
    # 5.2 切换步骤 1：ansible-playbook playbooks/dr/warm-standby-cutover.yml --limit=ap-northeast-1（只读库提升、Redis 重建、BFF 配置刷新）
    When the warm standby in ap-northeast-1 takes over
    # 5.2 切换步骤 2：aws rds failover-db-cluster --db-cluster-identifier glancy-main
    And the database cluster "glancy-main" fails over to ap-northeast-1
    # 5.2 切换步骤 3：aws route53 change-resource-record-sets --hosted-zone-id Z123 --change-batch file://route53-apne1.json
    And 100% of the weight of "api.glancy" moves to ap-northeast-1
    And within 60 seconds the probes succeed again
    # 5.2 切换步骤 4：kubectl --context=ap-northeast-1 logs deploy/llm-adapter | tail -n 20，确保 Doubao 通路正常
    And within 10 seconds lookups are answered in full from ap-northeast-1
    # 5.2 切换步骤 5：aws s3 cp s3://glancy-dr-ap-sg/pg/last-lsn.txt s3://glancy-dr-apne1/pg/ 并校验 CRR 同步完成
    And "pg/last-lsn.txt" is copied from "glancy-dr-ap-sg" in ap-northeast-1 to "glancy-dr-apne1" in ap-northeast-1
    And within 60 seconds the WAL archive in "glancy-dr-ap-sg/pg" is replicated to ap-northeast-1 up to "glancy-dr-apne1/pg/last-lsn.txt"
    And within 60 seconds every object in "glancy-exports" that ap-southeast-1 held at the cut is in ap-northeast-1, or was in flight for at most 60 seconds
    # 5.2 回切步骤：主 Region 恢复后按相同步骤回切，确保 RTO ≤30 min，记录 diff
    And the links of ap-southeast-1 are restored
    And the region ap-southeast-1 is rebuilt as a warm standby
    And within 60 seconds the database in az-a is a streaming standby
    And the warm standby in ap-southeast-1 takes over
    And 100% of the weight of "api.glancy" moves to ap-southeast-1
    And within 60 seconds the probes succeed again
    And the region ap-northeast-1 is rebuilt as a warm standby
    And within 60 seconds the database in ap-northeast-1 is a streaming standby
    And the workload runs for 12 more seconds
    # 5.2 回切步骤：确保 RTO ≤30 min，记录 diff
    Then the RTO from the takeover by ap-southeast-1 is at most 30 minutes
    And the RTO by Prometheus at the front door from the takeover by ap-southeast-1 is at most 30 minutes
    And no table differed between the regions when ap-southeast-1 took over
    And no object differed between the regions when ap-southeast-1 took over
    # 5.2 切换步骤 4：确保 Doubao 通路正常
    And the LLM adapter answers in full from ap-northeast-1
    # 4.1 三月：跨 Region 切换 ≤45 min（含 DNS），SLA ≥99.0%
    And the RTO of the cutover to ap-northeast-1 is at most 45 minutes
    And the RTO by Prometheus at the front door of the cutover to ap-northeast-1 is at most 45 minutes
    And the SLA over the 45 minutes from T0 is at least 99.0%
    # 2 RPO：历史/配置 ≤5 min
    And the RPO is at most 5 minutes
    And "lookup-bff" has at least 2 Ready replicas in ap-northeast-1
