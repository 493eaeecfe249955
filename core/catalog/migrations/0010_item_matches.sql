-- Online metadata (issue 18): which entry of which online provider each item was matched to,
-- how sure the match is, what the provider said and what of it went into the item, and when a
-- provider that failed is asked again. `locked`: the owner chose (a pick, or "local metadata
-- only"); a locked item is never matched again. No row is about a person.
CREATE TABLE item_matches (
    item_pk     INTEGER NOT NULL REFERENCES items(pk) ON DELETE CASCADE,
    provider    TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('matched', 'none', 'failed', 'local')),
    match_id    TEXT,
    confidence  REAL,
    locked      INTEGER NOT NULL DEFAULT 0,
    query       TEXT NOT NULL DEFAULT '',
    fields      TEXT NOT NULL DEFAULT '{}',
    applied     TEXT NOT NULL DEFAULT '{}',
    failures    INTEGER NOT NULL DEFAULT 0,
    retry_at    REAL,
    error       TEXT,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (item_pk, provider)
) WITHOUT ROWID;
CREATE INDEX item_matches_retry ON item_matches (provider, retry_at) WHERE state = 'failed';
