package captcha

import "net/http"

// servePuzzle serves the front end: TCaptcha.js and the slider puzzle.
func (e *Emulator) servePuzzle(w http.ResponseWriter, r *http.Request) {
	http.NotFound(w, r)
}
