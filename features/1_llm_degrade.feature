@month_1 @seed_4_1 @seed_2
Feature: January drill: Doubao circuit-break and degradation
  The plan's January drill (seed 4.1): when Doubao fails, the LLM adapter's circuit breaker
  opens and /lookup answers every request with the degraded payload, "basic definition +
  template example", never with a server error; once Doubao is back the breaker closes
  (half-open, then closed) and full answers return. The drill closes within 120 minutes
  (T1−T0 in the ledger). Doubao is slower than the adapter's 0.8 s timeout first, then
  unreachable. While Doubao is slow a degraded answer comes only after that 0.8 s, so the
  probes wait up to 2.5 s (the plan's P95 limit for a probe, seed 2) rather than the
  profile's 1 s: a client that gave up at 1 s would count the harness's impatience against
  the service.

  Background:
    Given the reference service is up

  Scenario: Doubao times out, then is unreachable, then comes back
    Given probes call "/lookup" every 100 ms, waiting up to 2.5 seconds
    And within 10 seconds lookups are answered in full again
    When "llm" answers 1500 ms late
    And within 15 seconds the LLM circuit breaker is open
    And the network to "llm" is cut
    And the workload runs for 3 more seconds
    And the network to "llm" is restored
    And within 30 seconds lookups are answered in full again
    Then every lookup during the fault was answered with the degraded payload
    And no request to "/lookup" failed during the drill
    And the LLM circuit breaker opened within 10 seconds of the fault
    And full answers returned within 30 seconds of the restore
    # 4.3 抽查：随机抽 20 条故障期间的查询，确认基础释义 + 模板例句
    And a spot check of 20 lookups drawn at random from the fault finds each a basic definition with a template example
