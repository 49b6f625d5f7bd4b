package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// flagGroups orders -h as the README's flag tables: every flag belongs to
// exactly one group (a test checks it).
var flagGroups = []struct {
	title string
	names []string
}{
	{"Configuration", []string{"config", "check"}},
	{"Listeners", []string{"listen", "listen-tls", "listen-quic", "cert", "key", "workers", "max-conns", "takeover"}},
	{"HTTP/2 and HTTP/3", []string{"h2-max-streams", "h2-max-frame-size", "h2-idle-timeout", "h2-ping-timeout", "h2-settings-timeout", "quic-0rtt", "quic-max-streams", "quic-stream-window", "quic-conn-window", "quic-idle-timeout", "quic-keepalive"}},
	{"Tunnels", []string{"buffer-size", "connect-timeout", "idle-timeout", "header-timeout", "handshake-timeout",
		"drain-timeout", "half-close", "splice-after", "max-splices", "bind", "resolver", "tcp-keepalive", "connect-response", "upstream-proxy", "upstream-proxy-ca"}},
	{"SNI forwarding", []string{"listen-sni", "sni-port", "sni-default"}},
	{"connect-udp", []string{"udp", "udp-template", "udp-idle-timeout", "udp-max-datagram"}},
	{"Policy", []string{"allow-ports", "allow-forward-ports", "no-via", "allow-private", "allow-clients", "acl"}},
	{"Authentication and limits", []string{"auth-file", "auth-realm", "probe-resistance", "probe-secret",
		"max-tunnels-per-user", "max-tunnels-per-ip"}},
	{"The site", []string{"site"}},
	{"Camouflage and padding", []string{"camouflage", "alpn-h2-grace", "padding"}},
	{"Logs and operations", []string{"access-log", "log-level", "pprof", "metrics", "mem-trim", "version"}},
}

// printUsage writes the usage head and the flags by group.
func printUsage(fs *flag.FlagSet) {
	w := fs.Output()
	fmt.Fprint(w, usageHead)
	for _, g := range flagGroups {
		fmt.Fprintf(w, "\n%s:\n", g.title)
		for _, name := range g.names {
			if f := fs.Lookup(name); f != nil {
				printFlag(w, f)
			}
		}
	}
}

// printFlag writes one flag as flag.PrintDefaults does, with two dashes.
func printFlag(w io.Writer, f *flag.Flag) {
	typ, usage := flag.UnquoteUsage(f)
	line := "  --" + f.Name
	if typ != "" {
		line += " " + typ
	}
	fmt.Fprintf(w, "%s\n    \t%s", line, strings.ReplaceAll(usage, "\n", "\n    \t"))
	if d := f.DefValue; d != "" && d != "false" && d != "0" {
		if _, isString := f.Value.(interface{ IsBoolFlag() bool }); !isString && typ == "string" {
			d = fmt.Sprintf("%q", d)
		}
		fmt.Fprintf(w, " (default %s)", d)
	}
	fmt.Fprintln(w)
}
