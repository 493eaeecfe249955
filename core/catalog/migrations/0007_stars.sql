-- Stars (favourites) a person gives songs, albums and artists, from music apps (Subsonic
-- star/unstar) or any client; one row per person and item, gone with either.
CREATE TABLE stars (
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    item_pk     INTEGER NOT NULL REFERENCES items(pk) ON DELETE CASCADE,
    starred_at  TEXT NOT NULL,
    PRIMARY KEY (user_id, item_pk)
) WITHOUT ROWID;
