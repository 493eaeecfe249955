-- App passwords: a random secret per music app (Subsonic's token auth needs the plain secret
-- to compute md5(secret + salt), so it is stored sealed with the box's key, never hashed and
-- never the account password). Revoking one moves the credential epoch like a session does.
CREATE TABLE app_passwords (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    sealed       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    last_used_at TEXT
);
CREATE INDEX app_passwords_user ON app_passwords (user_id);

CREATE TRIGGER credential_epoch_app_password_removed AFTER DELETE ON app_passwords
BEGIN
    UPDATE credential_epoch SET value = value + 1 WHERE id = 1;
END;
