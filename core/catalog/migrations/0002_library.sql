-- Libraries, the files found in them, and the items people browse.
-- Item ids are random text (never derived from a path: guessable ids leak libraries);
-- `pk` is the internal integer key used for joins and full-text search.

CREATE TABLE libraries (
    id          INTEGER PRIMARY KEY,
    source_id   TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('movies', 'shows', 'music', 'photos', 'videos')),
    online      INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL
);

-- Every file a scan saw: media (which gets an item) and sidecars (subtitles, nfo, artwork).
-- Paths are bytes (os.fsencode) so that any file name round-trips, UTF-8 or not.
CREATE TABLE files (
    id          INTEGER PRIMARY KEY,
    library_id  INTEGER NOT NULL REFERENCES libraries(id) ON DELETE CASCADE,
    root        BLOB NOT NULL,
    relpath     BLOB NOT NULL,
    role        TEXT NOT NULL,
    size        INTEGER NOT NULL,
    mtime_ns    INTEGER NOT NULL,
    inode       INTEGER NOT NULL,
    head_hash   TEXT,
    probe       TEXT,
    error       TEXT,
    seen_at     TEXT NOT NULL,
    UNIQUE (library_id, root, relpath)
);
CREATE INDEX files_inode ON files (library_id, inode);
CREATE INDEX files_error ON files (library_id) WHERE error IS NOT NULL;

CREATE TABLE items (
    pk            INTEGER PRIMARY KEY,
    id            TEXT NOT NULL UNIQUE,
    library_id    INTEGER NOT NULL REFERENCES libraries(id) ON DELETE CASCADE,
    parent_pk     INTEGER REFERENCES items(pk) ON DELETE CASCADE,
    kind          TEXT NOT NULL,
    title         TEXT NOT NULL,
    sort_title    TEXT NOT NULL,
    group_key     TEXT,
    year          INTEGER,
    index_number  INTEGER,
    index_end     INTEGER,
    disc_number   INTEGER,
    file_id       INTEGER UNIQUE REFERENCES files(id) ON DELETE SET NULL,
    duration      REAL,
    taken_at      TEXT,
    content_rating TEXT,
    folder        BLOB,
    added_at      TEXT NOT NULL,
    metadata      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX items_parent ON items (parent_pk, index_number, sort_title);
CREATE INDEX items_library_kind ON items (library_id, kind, sort_title);
CREATE INDEX items_added ON items (added_at);
CREATE INDEX items_group ON items (library_id, kind, group_key);

CREATE TABLE item_genres (
    item_pk  INTEGER NOT NULL REFERENCES items(pk) ON DELETE CASCADE,
    genre    TEXT NOT NULL COLLATE NOCASE,
    PRIMARY KEY (item_pk, genre)
) WITHOUT ROWID;
CREATE INDEX item_genres_genre ON item_genres (genre);

-- Searchable text per item: title, people, artists and albums. rowid = items.pk.
CREATE VIRTUAL TABLE items_fts USING fts5(
    title, people, artists, albums,
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN
    DELETE FROM items_fts WHERE rowid = old.pk;
END;
