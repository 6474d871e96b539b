-- A user may hold one identity per provider *app*, not per provider: WeChat gives the same
-- person one openid in the website app and another in the official account (inside
-- WeChat's browser), both bound to the one account when their unionid is the same. Within
-- an app, still one identity per user. The index keeps its name (errors map by it).
DROP INDEX oauth_identities_user;
CREATE UNIQUE INDEX oauth_identities_user ON oauth_identities (user_id, provider, app_id);
