package httpapi

import (
	"net/http"
	"time"
)

// RequestObserver is told about every request answered, for metrics.
// *metrics.Metrics is one.
type RequestObserver interface {
	// ObserveRequest is called once per request with the route pattern
	// that matched it ("POST /auth/login"; "unmatched" when none did), the
	// status code and how long the answer took.
	ObserveRequest(route string, status int, d time.Duration)
}

// Instrument wraps h, the handler NewServer returned, so that o observes
// every request. The route is the ServeMux pattern, never the raw path: a
// client choosing paths must not be able to create metric series without
// bound. A request refused before routing (CSRF, plain HTTP) still counts
// under the pattern it would have matched.
func Instrument(h http.Handler, o RequestObserver) http.Handler {
	// A mux of the same patterns names the route of a request the server
	// refused before its own mux saw it.
	names := http.NewServeMux()
	noop := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	for _, p := range Routes() {
		names.Handle(p, noop)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			route := r.Pattern
			if route == "" {
				_, route = names.Handler(r)
			}
			if route == "" {
				route = "unmatched"
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			o.ObserveRequest(route, status, time.Since(start))
		}()
		h.ServeHTTP(sw, r)
	})
}

// statusWriter remembers the status code written. Unwrap lets
// http.ResponseController reach the connection's Flush and deadlines.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
