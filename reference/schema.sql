-- Schema of the reference Glancy service; applied by its owner role, safe to re-apply.
CREATE TABLE IF NOT EXISTS profiles (
    user_id      text PRIMARY KEY,
    display_name text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);
-- the user's lookups per UTC day; NULL: the service's configured default
ALTER TABLE profiles ADD COLUMN IF NOT EXISTS daily_lookups int CHECK (daily_lookups >= 0);

CREATE TABLE IF NOT EXISTS results (
    word       text PRIMARY KEY,
    definition text NOT NULL,
    example    text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE IF NOT EXISTS lookups (
    id           bigserial PRIMARY KEY,
    user_id      text NOT NULL,
    word         text NOT NULL,
    looked_up_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
-- /history and deletions select one user's lookups, newest first; quota counts a user's day
CREATE INDEX IF NOT EXISTS lookups_user_time ON lookups (user_id, looked_up_at DESC);

CREATE TABLE IF NOT EXISTS drill_writes (
    id           bigint PRIMARY KEY,
    payload      text,
    committed_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- LLM token usage, authoritative for the monthly budget (Redis holds a rebuildable counter)
CREATE TABLE IF NOT EXISTS llm_usage (
    id     bigserial PRIMARY KEY,
    month  text NOT NULL,
    tokens int NOT NULL CHECK (tokens >= 0),
    at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    kind   text NOT NULL
);
-- the counter is rebuilt by summing one month
CREATE INDEX IF NOT EXISTS llm_usage_month ON llm_usage (month);

-- The export chain (seed section 3.1: `pg_dump --schema=exports`): tasks, their attempts, one
-- completion per task, and the snapshots of the task queue's offsets.
CREATE SCHEMA IF NOT EXISTS exports;

CREATE TABLE IF NOT EXISTS exports.tasks (
    id         text PRIMARY KEY,
    user_id    text NOT NULL,
    kind       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- queued, running, done or failed: the last attempt's outcome
    status     text NOT NULL DEFAULT 'queued',
    attempts   int NOT NULL DEFAULT 0,
    last_error text,
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- every delivery of a task to a worker; 'running' forever: the worker died mid-task
CREATE TABLE IF NOT EXISTS exports.attempts (
    id          bigserial PRIMARY KEY,
    task_id     text NOT NULL REFERENCES exports.tasks (id),
    entry_id    text NOT NULL,
    worker      text NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at timestamptz,
    -- running, done, failed, or reused (the artifact was already stored)
    outcome     text NOT NULL DEFAULT 'running',
    error       text
);
CREATE INDEX IF NOT EXISTS attempts_task ON exports.attempts (task_id);

-- at most one per task: a task is completed once, however often it is delivered
CREATE TABLE IF NOT EXISTS exports.completions (
    task_id      text PRIMARY KEY REFERENCES exports.tasks (id),
    object_key   text NOT NULL,
    version_id   text,
    sha256       text NOT NULL,
    size         bigint NOT NULL,
    completed_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- the consumer group's offsets (seed section 3.1: "任务队列偏移每 5 min 快照")
CREATE TABLE IF NOT EXISTS exports.queue_snapshots (
    id                bigserial PRIMARY KEY,
    taken_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    last_delivered_id text NOT NULL,
    -- [[entry id, consumer, idle ms, deliveries], ...]
    pending           jsonb NOT NULL
);

-- Billing (the plan's 订阅/订单/账单 row: PITR + order reconciliation). Rows are only added:
-- an entitlement is a period of a plan, so a subscription's state at any past time is what
-- its rows committed by then say, and a PITR spot check can compare them.
CREATE TABLE IF NOT EXISTS subscriptions (
    user_id    text NOT NULL,
    plan       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (user_id, plan)
);

-- one per payment of the provider, however often its callback is delivered
CREATE TABLE IF NOT EXISTS orders (
    payment_id   text PRIMARY KEY,
    user_id      text NOT NULL,
    plan         text NOT NULL,
    amount_cents int NOT NULL CHECK (amount_cents > 0),
    paid_at      timestamptz NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- 'callback', or 'reconciliation' when the provider's records brought it back
    source       text NOT NULL
);

CREATE TABLE IF NOT EXISTS entitlements (
    id         bigserial PRIMARY KEY,
    payment_id text NOT NULL REFERENCES orders (payment_id),
    user_id    text NOT NULL,
    plan       text NOT NULL,
    starts_at  timestamptz NOT NULL,
    ends_at    timestamptz NOT NULL,
    granted_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS entitlements_payment ON entitlements (payment_id);
CREATE INDEX IF NOT EXISTS entitlements_user_plan ON entitlements (user_id, plan, ends_at);
