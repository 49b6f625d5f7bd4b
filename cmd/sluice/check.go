package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// checkMain is --check: the settings (command line and --config file) and
// every file they name are checked as a start would check them (prepare),
// without opening a socket or writing a file. It prints "configuration ok"
// or every error, and returns the exit status.
func checkMain(cfg *config, parseErr error, stdout, stderr io.Writer) int {
	err := parseErr
	var s *server
	if err == nil {
		s, err = prepare(cfg, io.Discard)
		err = errors.Join(err, checkAccessLog(cfg.accessLog))
	}
	if err != nil {
		printErrors(stderr, err)
		return 1
	}
	for _, w := range checkWarnings(s) {
		fmt.Fprintln(stderr, "sluice: warning:", w)
	}
	fmt.Fprintln(stdout, "configuration ok")
	return 0
}

// printErrors writes each of a joined error's errors on a line of its own.
func printErrors(w io.Writer, err error) {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			printErrors(w, e)
		}
		return
	}
	fmt.Fprintln(w, "sluice:", err)
}

// checkWarnings are what --check points out without failing: a
// certificate that has expired or soon will, and an open proxy.
func checkWarnings(s *server) []string {
	var out []string
	if c := s.cert.Load(); c != nil && c.Leaf != nil {
		switch left := time.Until(c.Leaf.NotAfter); {
		case left <= 0:
			out = append(out, fmt.Sprintf("--cert %s expired on %s", s.cfg.cert, c.Leaf.NotAfter.UTC().Format(time.DateOnly)))
		case left < 14*24*time.Hour:
			out = append(out, fmt.Sprintf("--cert %s expires on %s", s.cfg.cert, c.Leaf.NotAfter.UTC().Format(time.DateOnly)))
		}
	}
	if s.policy.Gate.Auth == nil && s.policy.Clients.All() {
		for _, l := range proxyListeners(s.cfg) {
			host, _, _ := net.SplitHostPort(l.addr)
			if ip, err := netip.ParseAddr(host); err != nil || !ip.IsLoopback() {
				out = append(out, fmt.Sprintf("--%s %s: an open proxy, reachable beyond loopback with neither --auth-file nor --allow-clients", l.name, l.addr))
			}
		}
	}
	return out
}

// listenAddr is one address setting.
type listenAddr struct{ name, addr string }

// proxyListeners are the proxy's own listen addresses that are on.
func proxyListeners(c *config) []listenAddr {
	var out []listenAddr
	for _, l := range []listenAddr{{"listen", c.listen}, {"listen-tls", c.listenTLS}, {"listen-quic", c.listenQUIC.addr(c.listenTLS)}, {"listen-sni", c.listenSNI}} {
		if l.addr != "" {
			out = append(out, l)
		}
	}
	return out
}

// checkAddrs checks that every address setting is host:port, and that no
// two TCP listeners want the same port on overlapping addresses (which a
// start would refuse as an address in use).
func checkAddrs(c *config) error {
	var errs []error
	type bound struct {
		name, host, port string
	}
	var tcp []bound
	all := append(proxyListeners(c), listenAddr{"pprof", c.pprof}, listenAddr{"metrics", c.metrics}, listenAddr{"resolver", c.resolver})
	for _, l := range all {
		if l.addr == "" {
			continue
		}
		host, port, err := net.SplitHostPort(l.addr)
		if err == nil {
			_, err = net.LookupPort("tcp", port) // a number, or a name in /etc/services
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("--%s %q: not host:port: %w", l.name, l.addr, err))
			continue
		}
		if l.name == "listen-quic" || l.name == "resolver" || port == "0" {
			continue
		}
		b := bound{l.name, host, port}
		for _, o := range tcp {
			if o.port == b.port && (o.host == b.host || wildcard(o.host) || wildcard(b.host)) {
				errs = append(errs, fmt.Errorf("--%s %s and --%s %s: the same TCP port", o.name, net.JoinHostPort(o.host, o.port), b.name, l.addr))
			}
		}
		tcp = append(tcp, b)
	}
	return errors.Join(errs...)
}

func wildcard(host string) bool {
	ip, err := netip.ParseAddr(host)
	return host == "" || err == nil && ip.IsUnspecified()
}

// checkAccessLog checks that --access-log can be written, without
// creating it: an existing file is opened for appending and closed, a new
// one needs a writable directory.
func checkAccessLog(path string) error {
	switch path {
	case "off", "", "stdout", "stderr":
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err == nil {
		_ = f.Close()
		return nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("--access-log: %w", err)
	}
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("--access-log %s: directory %s does not exist", path, dir)
	}
	if err := unix.Access(dir, unix.W_OK); err != nil {
		return fmt.Errorf("--access-log %s: cannot create it in %s: %w", path, dir, err)
	}
	return nil
}
