package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/renran/accounts/internal/account"
)

// maxBody bounds every request body; the largest legitimate one is well under 2 KiB.
const maxBody = 64 << 10

// maxDepth bounds JSON nesting; our bodies are flat objects.
const maxDepth = 8

// decode reads a JSON object body into v strictly: application/json only (415), at most
// maxBody bytes (413), one object with no duplicate keys, no unknown fields, right types,
// nothing after it (400).
func decode(r *http.Request, v any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return account.ErrUnsupportedMedia
	}
	b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return account.ErrBodyTooLarge
		}
		return account.ErrInvalidJSON
	}
	return decodeBytes(b, v)
}

func decodeBytes(b []byte, v any) error {
	if err := checkObject(b); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return account.WrongType(te.Field, kindName(te.Type))
		}
		if msg := err.Error(); strings.HasPrefix(msg, "json: unknown field ") {
			f, _ := strconv.Unquote(strings.TrimPrefix(msg, "json: unknown field "))
			return account.UnknownField(f, fieldsOf(v))
		}
		return account.ErrInvalidJSON
	}
	if _, err := dec.Token(); err != io.EOF {
		return account.ErrInvalidJSON
	}
	return nil
}

// fieldsOf lists the JSON names of the fields of the struct v points to, in order.
func fieldsOf(v any) []string {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var out []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out = append(out, name)
		}
	}
	return out
}

// kindName says in Chinese what a JSON value of type t looks like.
func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "字符串"
	case reflect.Bool:
		return "布尔值（true 或 false）"
	case reflect.Int, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint32, reflect.Uint64:
		return "整数"
	case reflect.Float32, reflect.Float64:
		return "数字"
	}
	return "正确的类型"
}

// checkObject walks the tokens of b: it must be a single JSON object, nested at most
// maxDepth deep, with no key twice in any object (encoding/json would silently keep the
// last one, so two parsers could disagree on what was sent).
func checkObject(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return account.ErrInvalidJSON
	}
	type frame struct {
		obj  bool
		keys map[string]bool
		key  bool // next string token in an object is a key
	}
	stack := []frame{{obj: true, keys: map[string]bool{}, key: true}}
	for len(stack) > 0 {
		tok, err := dec.Token()
		if err != nil {
			return account.ErrInvalidJSON
		}
		top := &stack[len(stack)-1]
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				if len(stack) >= maxDepth {
					return account.ErrInvalidJSON
				}
				if top.obj {
					top.key = true
				}
				stack = append(stack, frame{obj: d == '{', keys: map[string]bool{}, key: d == '{'})
			case '}', ']':
				stack = stack[:len(stack)-1]
			}
			continue
		}
		if top.obj && top.key {
			k, _ := tok.(string)
			if top.keys[k] {
				return account.ErrInvalidJSON
			}
			top.keys[k] = true
			top.key = false
			continue
		}
		if top.obj {
			top.key = true
		}
	}
	return nil
}

// encode writes v as JSON with status.
// HTML escaping is off: answers are application/json with nosniff, and URLs stay readable.
func encode(w http.ResponseWriter, status int, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
	return nil
}

var statuses = map[account.Kind]int{
	account.Internal:         http.StatusInternalServerError,
	account.Invalid:          http.StatusBadRequest,
	account.Unauthorized:     http.StatusUnauthorized,
	account.Forbidden:        http.StatusForbidden,
	account.NotFound:         http.StatusNotFound,
	account.MethodNotAllowed: http.StatusMethodNotAllowed,
	account.Conflict:         http.StatusConflict,
	account.Gone:             http.StatusGone,
	account.TooLarge:         http.StatusRequestEntityTooLarge,
	account.Unsupported:      http.StatusUnsupportedMediaType,
	account.RateLimited:      http.StatusTooManyRequests,
	account.Upstream:         http.StatusBadGateway,
	account.UpstreamTimeout:  http.StatusGatewayTimeout,
	account.Unavailable:      http.StatusServiceUnavailable,
	account.Misdirected:      http.StatusMisdirectedRequest,
}

type errorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// writeError writes the API's error body. Errors that are not *account.Error are internal:
// they are logged here, once, with the request id, and the client sees a generic message.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if strings.HasPrefix(r.URL.Path, "/oauth/") {
		err = account.ForProvider(err, provider(r)) // weibo_already_bound, not qq_already_bound
	}
	e := account.ErrorOf(err)
	if e == nil && account.IsUnavailable(err) {
		s.log.Warn("storage unavailable", "id", requestID(r), "method", r.Method, "path", r.URL.Path, "err", err)
		e = account.ErrServiceUnavailable
	}
	if e == nil || e.Kind == account.Internal {
		id := requestID(r)
		s.log.Error("internal error", "id", id, "method", r.Method, "path", r.URL.Path, "err", err)
		// The request id lets a person quote the failure and an operator find it in the log.
		e = &account.Error{Kind: account.Internal, Code: account.ErrInternal.Code, Message: account.ErrInternal.Message + "（请求编号 " + id + "）"}
	}
	if e.Kind == account.RateLimited || e.Kind == account.Unavailable {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(e.RetryAfter.Seconds()))))
	}
	if e.Kind == account.Unauthorized && e.Code == account.ErrUnauthenticated.Code {
		w.Header().Set("WWW-Authenticate", `Bearer realm="renran"`)
	}
	_ = encode(w, statuses[e.Kind], errorBody{Error: e.Code, Message: e.Message, Field: e.Field})
}
