@month_12 @seed_4_1 @seed_6
Feature: December: the year's review, and two drills run again
  The plan's December (seed 4.1, 年度回顾 + 演练补测): the review meeting reads the year's
  ledger (4.2), which every drill of the calendar wrote to; `make drills` runs the calendar in
  order, so December sees the year. Every drill type must have run, every action item a failed
  or late drill opened must be closed by a later passing run (复盘行动项收敛), the spot-check
  record (4.3) must cover every drill type (seed 6: 抽查记录必须覆盖每类演练至少一次) and
  every drill must have closed within 120 minutes. Run alone on an empty ledger it fails,
  naming the drill types that never ran: that is its point.

  Before it, the session runs two drills of the calendar again, drawn at random with the
  session's seed (抽查 2 次随机演练闭环 ≤120 min): the draw is printed and recorded in this
  drill's ledger entry, and `--dr-seed` draws the same two again. Each re-run is a test of its
  own (`test_<scenario>__re_drill`) with its own ledger entry.

  Scenario: The re-drilled drills closed in time
    Then the 2 drills drawn at random ran again in this session, each closed within 120 minutes

  Scenario: The year's ledger passes the review
    Then every drill type of the calendar ran this year
    And every action item of the ledger up to this year is closed
    And the spot checks of this year cover every drill type
    And every drill of this year closed within 120 minutes
