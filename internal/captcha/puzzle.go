package captcha

import (
	"embed"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

//go:embed static
var static embed.FS

// The slider puzzle: a challenge is a gap at a random place along a 280-pixel track; the
// answer is where the piece was dropped, right within tolerance pixels. It keeps bots of
// the development kind honest, not determined ones: it is a development twin.
const (
	trackWidth   = 280
	pieceWidth   = 44
	tolerance    = 6
	challengeTTL = 2 * time.Minute
	maxTries     = 5
)

type challenge struct {
	target  int
	tries   int
	expires time.Time
}

// servePuzzle serves TCaptcha.js, its style sheet, POST /challenge and POST /answer.
func (e *Emulator) servePuzzle(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && (r.URL.Path == "/TCaptcha.js" || r.URL.Path == "/tcaptcha.css"):
		b, _ := static.ReadFile("static" + r.URL.Path)
		ct := "text/javascript; charset=utf-8"
		if r.URL.Path == "/tcaptcha.css" {
			ct = "text/css; charset=utf-8"
		}
		w.Header().Set("Content-Type", ct)
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(b)
	case r.Method == http.MethodPost && r.URL.Path == "/challenge":
		var in struct{ Aid string }
		if decode(r, &in) != nil || in.Aid != strconv.FormatInt(e.AppID, 10) {
			writeJSON(w, map[string]string{"error": "appid", "message": "验证码 AppId 不正确"})
			return
		}
		id := random(24)
		target := pieceWidth + 16 + rand.IntN(trackWidth-2*pieceWidth-16)
		e.mu.Lock()
		if e.challenges == nil {
			e.challenges = map[string]*challenge{}
		}
		now := e.now()
		e.sweep(now)
		full := len(e.challenges) >= maxTickets
		if !full {
			e.challenges[id] = &challenge{target: target, expires: now.Add(challengeTTL)}
		}
		e.mu.Unlock()
		if full {
			http.Error(w, "too many live challenges", http.StatusTooManyRequests)
			return
		}
		writeJSON(w, map[string]any{"id": id, "target": target, "width": trackWidth})
	case r.Method == http.MethodPost && r.URL.Path == "/answer":
		var in struct {
			ID string
			X  int
		}
		if decode(r, &in) != nil {
			writeJSON(w, map[string]string{"error": "bad_request", "message": "请重试"})
			return
		}
		e.mu.Lock()
		c := e.challenges[in.ID]
		ok := c != nil && !e.now().After(c.expires) && c.tries < maxTries
		if c != nil {
			c.tries++
		}
		hit := ok && in.X >= c.target-tolerance && in.X <= c.target+tolerance
		if hit || (c != nil && c.tries >= maxTries) {
			delete(e.challenges, in.ID)
		}
		e.mu.Unlock()
		if !hit {
			writeJSON(w, map[string]string{"error": "miss", "message": "未对准，请再试一次"})
			return
		}
		tk, rs, issued := e.Issue()
		if !issued {
			http.Error(w, "too many live tickets", http.StatusTooManyRequests)
			return
		}
		writeJSON(w, map[string]string{"ticket": tk, "randstr": rs})
	default:
		http.NotFound(w, r)
	}
}

func decode(r *http.Request, v any) error {
	return json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(v)
}
