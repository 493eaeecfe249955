-- The queue a person was playing in a music app (Subsonic savePlayQueue/getPlayQueue), so
-- another app or device can carry on from the same song and position.
CREATE TABLE play_queues (
    user_id     INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    current_pk  INTEGER REFERENCES items(pk) ON DELETE SET NULL,
    position    REAL NOT NULL DEFAULT 0,
    changed_at  TEXT NOT NULL,
    changed_by  TEXT NOT NULL
);

CREATE TABLE play_queue_items (
    user_id   INTEGER NOT NULL REFERENCES play_queues(user_id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    item_pk   INTEGER NOT NULL REFERENCES items(pk) ON DELETE CASCADE,
    PRIMARY KEY (user_id, position)
) WITHOUT ROWID;
