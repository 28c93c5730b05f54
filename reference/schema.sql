-- Schema of the reference Glancy service; applied by its owner role, safe to re-apply.
CREATE TABLE IF NOT EXISTS profiles (
    user_id      text PRIMARY KEY,
    display_name text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);

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
-- /history and deletions select one user's lookups, newest first
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
