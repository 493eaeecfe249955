-- Capability links for players that cannot send a header (VLC, Kodi, TVs): a random token in
-- the query, stored hashed, bound to one item and to the sign-in session that made it (ended
-- with it), valid for a day.
CREATE TABLE stream_links (
    id          INTEGER PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    session_id  INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    item_id     TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
CREATE INDEX stream_links_session ON stream_links (session_id);
