package gatehouse

// ParseRefresh exposes parseRefresh to the external tests: FuzzParseRefresh
// drives it with arbitrary strings.
var ParseRefresh = parseRefresh
