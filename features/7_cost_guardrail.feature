@month_7 @seed_4_1
Feature: July drill: cost guardrails at 80% and 95% of the LLM budget
  The plan's July drill (seed 4.1): LLM spend is driven to 80%, then 95% of the monthly
  budget. At 80% the service warns; at 95% regenerating an example is disabled with a
  documented error, while lookups keep working with a P95 no more than 10% worse than a
  baseline, under the same probe load. Two windows of a few hundred latencies can differ by
  chance alone by 10% or more, so the P95 comparison fails only when the drill's P95 is worse
  beyond that noise (the lower bound of its bootstrap confidence interval); the interval is
  stated with the figure, a ratio of the baseline's P95 (at most 1.1 × baseline). A busy host
  also drifts by as much within a minute, more slowly than a few seconds, so once at 95% the
  latency is measured in windows of 3 seconds taken in turn with baseline windows, the spend
  taken back and made again between them; each side is pooled, each window's P95 stated.
  The warning and the refusal are checked on the live service at each level, before
  spending on. The drill's spend is recorded through the service's admin endpoint. The spot
  check (4.3) draws 20 of the lookups made at 95% after the last spend, before it was taken
  back, each to carry a definition and an example: at 95% users still get their answers.

  Background:
    Given the reference service is up

  Scenario: Spend is driven to 80%, then 95% of the monthly budget
    Given probes call "/lookup" every 20 ms
    And the baseline is measured for 3 seconds
    When LLM spend reaches 80% of the monthly budget
    And within 5 seconds the LLM budget is in the warning state
    And lookups carry the header "X-Budget-State: warning"
    And LLM spend reaches 95% of the monthly budget
    And within 5 seconds the LLM budget is in the disabled state
    And regenerating an example is refused with "regenerate_disabled"
    And the latency at 95% and the baseline are measured in turn, 4 times 3 seconds each
    Then no request to "/lookup" failed during the drill
    And P95 of "/lookup" is no worse than 110% of the baseline
    And a spot check of 20 lookups drawn at random since the last spend finds each answered with a definition and an example
