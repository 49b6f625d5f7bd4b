// Package capsule will hold the RFC 9297 capsule codec used by connect-udp
// over HTTP/2 and HTTP/1.1. Not built yet.
package capsule
