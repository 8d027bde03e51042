// Command baseline is the bare net/http server bench/run.sh compares
// Gatehouse with. "/" answers "ok" and nothing else: target 1's baseline.
// "/same-bytes" answers with exactly the headers and body Gatehouse's
// GET /api/protected sends, without any of its work, so that run.sh can
// tell what the bigger request and answer cost from what authentication
// costs.
package main

import (
	"flag"
	"log"
	"net/http"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "listen `address`")
	flag.Parse()
	headers := [][2]string{
		{"Cache-Control", "no-store"},
		{"Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"},
		{"Content-Type", "application/json; charset=utf-8"},
		{"Cross-Origin-Opener-Policy", "same-origin"},
		{"Cross-Origin-Resource-Policy", "same-origin"},
		{"Referrer-Policy", "no-referrer"},
		{"X-Content-Type-Options", "nosniff"},
		{"X-Frame-Options", "DENY"},
	}
	body := []byte(`{"message":"Access granted","user_id":"o90zfEzriuHDC6kQGQEClA"}` + "\n")
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	mux.HandleFunc("/same-bytes", func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for _, kv := range headers {
			h.Set(kv[0], kv[1])
		}
		w.Write(body)
	})
	log.Fatal(http.ListenAndServe(*addr, mux))
}
