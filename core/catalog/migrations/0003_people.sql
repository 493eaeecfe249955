-- People: accounts, sign-in sessions, device keys, what each may see, and their own data.
-- Secrets are stored only as hashes (argon2id for passwords and PINs, SHA-256 for random
-- tokens). Everything about a person hangs off users(id) with ON DELETE CASCADE, so deleting
-- an account deletes every row about them.

CREATE TABLE users (
    id              INTEGER PRIMARY KEY,
    username        TEXT NOT NULL UNIQUE COLLATE NOCASE,
    role            TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'managed')),
    password_hash   TEXT,
    pin_hash        TEXT,
    totp_secret     TEXT,
    totp_enabled    INTEGER NOT NULL DEFAULT 0,
    max_rating      TEXT,
    unrated         TEXT NOT NULL DEFAULT 'allow' CHECK (unrated IN ('allow', 'block')),
    excluded_genres TEXT NOT NULL DEFAULT '[]',
    all_libraries   INTEGER NOT NULL DEFAULT 0,
    history_paused  INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL
);

CREATE TABLE recovery_codes (
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    used_at    TEXT,
    PRIMARY KEY (user_id, code_hash)
) WITHOUT ROWID;

CREATE TABLE sessions (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash   TEXT NOT NULL UNIQUE,
    kind         TEXT NOT NULL CHECK (kind IN ('session', 'api_key')),
    name         TEXT NOT NULL,
    scope        TEXT NOT NULL DEFAULT 'full',
    client       TEXT,
    address      TEXT,
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at   TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE grants (
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    library_id  INTEGER NOT NULL REFERENCES libraries(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, library_id)
) WITHOUT ROWID;

CREATE TABLE invites (
    id          INTEGER PRIMARY KEY,
    code_hash   TEXT NOT NULL UNIQUE,
    created_by  INTEGER REFERENCES users(id) ON DELETE CASCADE,
    role        TEXT NOT NULL CHECK (role IN ('member', 'managed')),
    libraries   TEXT NOT NULL DEFAULT '[]',
    max_rating  TEXT,
    note        TEXT,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT,
    used_by     INTEGER REFERENCES users(id) ON DELETE SET NULL
);

ALTER TABLE libraries ADD COLUMN lan_visible INTEGER NOT NULL DEFAULT 1;

CREATE TABLE progress (
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    item_pk     INTEGER NOT NULL REFERENCES items(pk) ON DELETE CASCADE,
    position    REAL NOT NULL,
    duration    REAL,
    watched     INTEGER NOT NULL DEFAULT 0,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (user_id, item_pk)
) WITHOUT ROWID;
CREATE INDEX progress_recent ON progress (user_id, updated_at);

CREATE TABLE history (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    item_pk     INTEGER NOT NULL REFERENCES items(pk) ON DELETE CASCADE,
    watched_at  TEXT NOT NULL
);
CREATE INDEX history_user ON history (user_id, watched_at);

CREATE TABLE ratings (
    user_id  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    item_pk  INTEGER NOT NULL REFERENCES items(pk) ON DELETE CASCADE,
    rating   INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 10),
    PRIMARY KEY (user_id, item_pk)
) WITHOUT ROWID;

CREATE TABLE playlists (
    id          INTEGER PRIMARY KEY,
    public_id   TEXT NOT NULL UNIQUE,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE playlist_items (
    playlist_id INTEGER NOT NULL REFERENCES playlists(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    item_pk     INTEGER NOT NULL REFERENCES items(pk) ON DELETE CASCADE,
    PRIMARY KEY (playlist_id, position)
) WITHOUT ROWID;

-- Every outbound attempt a plugin made, allowed or refused: the owner's proof.
CREATE TABLE egress_ledger (
    id         INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,
    plugin     TEXT NOT NULL,
    host       TEXT NOT NULL,
    purpose    TEXT NOT NULL,
    allowed    INTEGER NOT NULL,
    bytes_in   INTEGER NOT NULL DEFAULT 0,
    bytes_out  INTEGER NOT NULL DEFAULT 0,
    detail     TEXT
);
