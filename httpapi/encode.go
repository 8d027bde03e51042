package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"sync"
)

// maxBody caps every request body: the largest legitimate one (a password
// change with two maximum-length passwords) fits well inside it.
const maxBody = 16 << 10

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header()["Content-Type"] = hdrJSON
	w.WriteHeader(status)
	writeJSONBody(w, v)
}

// jsonBuffers are the buffers JSON answers are encoded into; an answer is
// written with a single Write, so a buffer is free again once it returns.
var jsonBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func writeJSONBody(w http.ResponseWriter, v any) {
	buf := jsonBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(true)
	enc.Encode(v)
	w.Write(buf.Bytes())
	if buf.Cap() <= 64<<10 { // a rare large answer is not kept
		jsonBuffers.Put(buf)
	}
}

// decode reads a JSON object strictly: the content type must be JSON (which
// a cross-site HTML form cannot send without a CORS preflight), unknown
// fields, trailing data and bodies over maxBody are errors.
func decode[T any](w http.ResponseWriter, r *http.Request) (T, *Problem) {
	var v T
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		p := problem("unsupported-media-type", "Content-Type must be application/json", http.StatusUnsupportedMediaType)
		return v, &p
	}
	body := http.MaxBytesReader(w, r.Body, maxBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			p := problem("too-large", "Request body too large", http.StatusRequestEntityTooLarge)
			return v, &p
		}
		p := problem("invalid-json", "Request body is not valid JSON for this route", http.StatusBadRequest)
		return v, &p
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		p := problem("invalid-json", "Request body has trailing data", http.StatusBadRequest)
		return v, &p
	}
	return v, nil
}
