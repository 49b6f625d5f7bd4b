// Command caddy is Caddy v2 with the forwardproxy plugin, built only so
// that the benchmarks can compare sluice with Caddy's CONNECT proxy.
//
// It lives in its own Go module so that the plugin's large dependency tree
// (and the forwardproxy version that the checksum database does not know)
// never enters the main module's go.mod and go.sum.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	// The standard module set, as in Caddy's own main package.
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	// The peer under test: the forward_proxy HTTP handler.
	_ "github.com/caddyserver/forwardproxy"
)

func main() {
	caddycmd.Main()
}
