-- Users brought over by `renran import-django`: the Django user id each came from. An
-- import skips the Django ids found here, so it can be run again and resumed after a
-- crash. No foreign key: a mapping outlives a deleted account (ids are never reused), so
-- a second import does not bring a deleted account back.
CREATE TABLE django_users (
    django_id   BIGINT PRIMARY KEY,
    user_id     BIGINT NOT NULL UNIQUE,
    imported_at BIGINT NOT NULL
);
