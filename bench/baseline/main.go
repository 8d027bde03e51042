// Command baseline is the bare net/http server bench/run.sh compares
// Gatehouse with: one handler that answers "ok", nothing else.
package main

import (
	"flag"
	"log"
	"net/http"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "listen `address`")
	flag.Parse()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	log.Fatal(http.ListenAndServe(*addr, h))
}
