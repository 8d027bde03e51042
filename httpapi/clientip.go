package httpapi

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientAddr is the address a request came from. The socket address is
// believed; X-Forwarded-For is believed only when the socket address is a
// trusted proxy, and then only up to the first hop that is not one, because
// everything left of that hop was written by the client (RFC 9700 §4.13).
func clientAddr(r *http.Request, trusted []netip.Prefix) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		a, _ := netip.ParseAddr(host)
		return a.Unmap()
	}
	addr := ap.Addr().Unmap()
	if !isTrusted(addr, trusted) {
		return addr
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return addr
		}
		a = a.Unmap()
		if !isTrusted(a, trusted) {
			return a
		}
		addr = a
	}
	return addr
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// forwardedHTTPS reports whether a trusted proxy says the original request
// used https.
func forwardedHTTPS(r *http.Request, trusted []netip.Prefix) bool {
	if len(trusted) == 0 {
		return false // nobody to believe; spares parsing the address per request
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil || !isTrusted(ap.Addr().Unmap(), trusted) {
		return false
	}
	return strings.EqualFold(strings.TrimSpace(r.Header.Get("X-Forwarded-Proto")), "https")
}
