#!/usr/bin/env bash
# The QQ flow through the API, as the README walks through it: a first-time QQ user
# registers (没有账号) with an SMS code, then logs in again as a returning user. Runs against
# a development server (go run ./cmd/renran): BASE=http://127.0.0.1:8000 bash docs/qq-walkthrough.sh
# Needs curl and python3. A test runs it (internal/app/readme_test.go), so it stays true.
set -euo pipefail
BASE=${BASE:-http://127.0.0.1:8000}
J=$(mktemp)                                    # the cookie jar stands in for the browser
trap 'rm -f "$J"' EXIT
get() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# 1. Ask for QQ's authorize URL; the state cookie lands in the jar.
URL=$(curl -sf -c "$J" -b "$J" "$BASE/oauth/qq/url/?next=/user" | get url)
# 2. "Log in at QQ". In a browser you would pick a user on the QQ-style page (or 新 QQ 用户).
#    Here: make a new test QQ user, then the emulator-only parameter qqemu_user=<uin>
#    approves at once as that user.
UIN=$(curl -sf -X POST "$BASE/_dev/qq/_qqemu/users" | get uin)
CB=$(curl -s -o /dev/null -w '%{redirect_url}' "$URL&qqemu_user=$UIN")
# 3. Forward QQ's code and state, as the callback page does: a first-time user answers the
#    pending handle (qq_user) with QQ's nickname; the pending cookie lands in the jar.
INFO=$(curl -sf -c "$J" -b "$J" "$BASE/oauth/qq/info/?${CB#*\?}")
HANDLE=$(echo "$INFO" | get qq_user)
NICK=$(echo "$INFO" | get nickname)
echo "first-time QQ user $NICK"
# 4. 没有账号: a captcha ticket (the development emulator solves one), an SMS code (read from
#    the development outbox), then the new account bound to this QQ in one request.
MOBILE=$(printf '139%08d' $(( $(date +%s%N) / 1000 % 100000000 )))
TICKET=$(curl -sf -X POST "$BASE/_dev/captcha/solve" || echo '{}')
BODY=$(echo "$TICKET" | python3 -c 'import json,sys; d=json.load(sys.stdin); d.update(mobile=sys.argv[1], purpose="register"); print(json.dumps(d))' "$MOBILE")
curl -sf -b "$J" -H 'Content-Type: application/json' -d "$BODY" "$BASE/users/sms/" > /dev/null
CODE=$(curl -sf "$BASE/_dev/outbox?to=$MOBILE" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["code"])')
REG=$(python3 -c 'import json,sys; print(json.dumps(dict(qq_user=sys.argv[1], nickname=sys.argv[2], mobile=sys.argv[3], sms_code=sys.argv[4], password="a long passphrase 荏苒")))' "$HANDLE" "$NICK" "$MOBILE" "$CODE")
TOKEN=$(curl -sf -b "$J" -c "$J" -H 'Content-Type: application/json' -d "$REG" "$BASE/oauth/qq/info/" | get token)
echo "registered $MOBILE with QQ; access token ${TOKEN:0:16}…"
curl -sf -H "Authorization: Bearer $TOKEN" "$BASE/users/me/" | python3 -c 'import json,sys; d=json.load(sys.stdin); print("me:", d["nickname"], d["mobile"], [i["provider"] for i in d["identities"]])'
# 5. The same QQ user again is a returning user: steps 1–3 answer a login at once.
URL=$(curl -sf -c "$J" -b "$J" "$BASE/oauth/qq/url/?next=/user" | get url)
CB=$(curl -s -o /dev/null -w '%{redirect_url}' "$URL&qqemu_user=$UIN")
AGAIN=$(curl -sf -c "$J" -b "$J" "$BASE/oauth/qq/info/?${CB#*\?}" | get token)
echo "returning QQ user logged in again; access token ${AGAIN:0:16}…"
