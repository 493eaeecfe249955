-- Downloads for offline viewing: who holds which item on which device (a sign-in session or a
-- device key), in which version (the original file, or a phone-sized copy the server makes).
-- A row lives as long as the device keeps the download: revoking the session or key deletes
-- its rows (the app deletes the files on its next contact), and deleting the account deletes
-- all of them. The item is kept by public id as well, so a device can be told "delete" for an
-- item the catalog no longer has.
CREATE TABLE downloads (
    id          INTEGER PRIMARY KEY,
    public_id   TEXT NOT NULL UNIQUE,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    session_id  INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    item_pk     INTEGER REFERENCES items(pk) ON DELETE SET NULL,
    item_id     TEXT NOT NULL,
    quality     TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    stored_at   TEXT
);
CREATE INDEX downloads_session ON downloads (session_id);
CREATE INDEX downloads_copy ON downloads (item_pk, quality);
