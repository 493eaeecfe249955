-- Sign-in kept honest across processes and restarts.
--
-- credential_epoch is one number that every change to who may sign in, or to what a person
-- may see, moves on: triggers, so a change made by `hearth user passwd` in another process
-- counts as much as one made through the API. The server's principal cache compares it (after
-- SQLite's cheap `PRAGMA data_version` says anything was committed at all) before trusting a
-- cached token, so a revoked session or device key is refused on the very next request.
CREATE TABLE credential_epoch (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    value  INTEGER NOT NULL
);
INSERT INTO credential_epoch (id, value) VALUES (1, 0);

CREATE TRIGGER credential_epoch_session_ended AFTER DELETE ON sessions
BEGIN
    UPDATE credential_epoch SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER credential_epoch_user_changed
AFTER UPDATE OF username, role, password_hash, max_rating, unrated, excluded_genres,
    all_libraries ON users
BEGIN
    UPDATE credential_epoch SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER credential_epoch_user_removed AFTER DELETE ON users
BEGIN
    UPDATE credential_epoch SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER credential_epoch_grant_added AFTER INSERT ON grants
BEGIN
    UPDATE credential_epoch SET value = value + 1 WHERE id = 1;
END;

CREATE TRIGGER credential_epoch_grant_removed AFTER DELETE ON grants
BEGIN
    UPDATE credential_epoch SET value = value + 1 WHERE id = 1;
END;

-- The newest TOTP time step accepted for a person: a code from it or an earlier step is
-- refused, after a restart too (RFC 6238 section 5.2). One number per person, so there is
-- nothing to prune: a step is only ever compared with the current window.
ALTER TABLE users ADD COLUMN totp_last_step INTEGER;
