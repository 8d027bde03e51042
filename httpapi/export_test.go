package httpapi

// ReadCookie exposes readCookie to the external tests: FuzzReadCookie
// drives it with arbitrary Cookie headers.
var ReadCookie = readCookie
