// Package h3 will serve CONNECT and connect-udp over HTTP/3 (quic-go), feeding
// the same relay as h1 and h2. Not built yet.
package h3
