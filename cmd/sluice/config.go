package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-proxy/sluice/acl"
	"github.com/sluice-proxy/sluice/h1"
	"github.com/sluice-proxy/sluice/relay"
)

// config is everything the flags set.
type config struct {
	listen, listenTLS string
	listenSNI         string
	sniPort           uint
	sniDefault        string
	listenQUIC        quicAddr
	quic0RTT          bool
	quicMaxStreams    int64
	h2MaxStreams      uint
	h2MaxFrameSize    size
	h2IdleTimeout     time.Duration
	h2PingTimeout     time.Duration
	h2SettingsTimeout time.Duration
	tcpKeepAlive      time.Duration
	connectResponse   string
	camouflage        string
	alpnH2Grace       time.Duration
	quicStreamWindow  size
	quicConnWindow    size
	quicIdleTimeout   time.Duration
	quicKeepAlive     time.Duration
	udp               bool
	padding           bool
	udpTemplate       string
	udpIdleTimeout    time.Duration
	udpMaxDatagram    size
	cert, key         string
	workers           int
	bufferSize        size
	connectTimeout    time.Duration
	idleTimeout       time.Duration
	headerTimeout     time.Duration
	handshakeTimeout  time.Duration
	drainTimeout      time.Duration
	allowPorts        string
	forwardPorts      string
	noVia             bool
	allowPrivate      bool
	allowClients      string
	takeover          bool
	aclFile           string
	authFile          string
	authRealm         string
	probeResistance   bool
	probeSecret       string
	perUser, perIP    int
	spliceAfter       size
	showVersion       bool
	maxSplices        int
	bind              string
	resolver          string
	upstreamProxy     string
	upstreamProxyCA   string
	site              string
	accessLog         string
	logLevel          string
	pprof, metrics    string
	maxConns          int
	halfClose         bool
	memTrim           time.Duration
	configFile        string
	checkOnly         bool

	// Not flags: what the configuration was made from, for a reload.
	args   []string          // the command line
	values map[string]string // every flag's value, as flag.Value.String gives it
	set    map[string]bool   // the flags given, on the command line or in the file
}

const usageHead = `sluice: a forward (CONNECT) proxy engine.

With no flags it serves HTTP/1.1 CONNECT and h2c on 127.0.0.1:8080 and
HTTP/1.1 CONNECT inside TLS on 127.0.0.1:8443 with a generated self-signed
certificate. Everything that is not a proxy request sees a web site.
Flags take one or two dashes; sizes take a unit (64KiB, 1MiB), and
durations one too (10s, 5m). A --config file sets the same names, one
"name value" a line; see "Deployment" in the README.
`

// parseFlags parses the command line and the --config file it names
// (where the command line wins), then checks the settings against each
// other. The config comes back with an error from the file or the checks
// (so that a caller can see --check), and nil with a command-line error.
func parseFlags(args []string, out io.Writer) (*config, error) {
	c := &config{args: args}
	fs := newFlagSet(c, out)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if c.configFile != "" {
		onCmdline := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { onCmdline[f.Name] = true })
		// The file is parsed and checked on a flag set of its own, whole,
		// so that a bad line is reported even when the command line
		// overrides it.
		settings, err := readConfigFile(newFlagSet(&config{}, io.Discard), c.configFile)
		if err != nil {
			return c, err
		}
		for _, s := range settings {
			if onCmdline[s.name] {
				continue
			}
			if err := fs.Set(s.name, s.value); err != nil { // checked above: cannot fail
				return c, fmt.Errorf("%s:%d: %w", c.configFile, s.line, err)
			}
		}
	}
	c.values, c.set = map[string]string{}, map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) { c.values[f.Name] = f.Value.String() })
	fs.Visit(func(f *flag.Flag) { c.set[f.Name] = true })
	return c, c.check()
}

// newFlagSet defines every flag, with its default, on c.
func newFlagSet(c *config, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("sluice", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&c.listen, "listen", "127.0.0.1:8080", "plain listener: HTTP/1.1 CONNECT, absolute-URI requests, h2c with prior knowledge, the site (\"\" = off)")
	fs.StringVar(&c.listenTLS, "listen-tls", "127.0.0.1:8443", "TLS listener (an \"HTTPS proxy\"); \"\" = off")
	fs.StringVar(&c.listenSNI, "listen-sni", "", "L4 listener (nginx stream + ssl_preread): TLS connections routed by the ClientHello's server name to --sni-port, without credentials (\"\" = off)")
	fs.UintVar(&c.sniPort, "sni-port", 443, "the port an SNI connection is relayed to on its server name")
	fs.StringVar(&c.sniDefault, "sni-default", "", "where an SNI connection without a server name (or with an IP literal) goes, host or host:port; empty closes it")
	fs.Var(&c.listenQUIC, "listen-quic", "UDP `address` for HTTP/3 (nginx: listen ... quic), ALPN h3, the TLS listener's certificate; \"\" = off")
	fs.BoolVar(&c.quic0RTT, "quic-0rtt", false, "accept QUIC 0-RTT (ssl_early_data): saves a round trip, but a network attacker can replay a tunnel's first bytes")
	fs.UintVar(&c.h2MaxStreams, "h2-max-streams", 100, "concurrent streams per HTTP/2 connection, tunnels and requests (http2_max_concurrent_streams); 250 under --camouflage go")
	c.h2MaxFrameSize = 64 << 10
	fs.Var(&c.h2MaxFrameSize, "h2-max-frame-size", "the largest HTTP/2 frame a client may send (SETTINGS_MAX_FRAME_SIZE), a `size` from 16KiB to 16MiB-1; a connection may hold one partial frame of it. Larger frames make uploads from Go clients cheaper (nginx allows 16MiB-1); 16KiB is the protocol's own and what h2spec assumes; 1MiB under --camouflage go")
	fs.DurationVar(&c.h2IdleTimeout, "h2-idle-timeout", 75*time.Second, "an HTTP/2 connection silent this long gets GOAWAY when it has no stream, a PING when it has (keepalive_timeout)")
	fs.DurationVar(&c.h2PingTimeout, "h2-ping-timeout", 15*time.Second, "an HTTP/2 connection that does not answer that PING within this is closed (0 = no PING)")
	fs.DurationVar(&c.h2SettingsTimeout, "h2-settings-timeout", 10*time.Second, "an HTTP/2 client that has not acknowledged our SETTINGS this long after connecting is closed (SETTINGS_TIMEOUT; 0 = never)")
	fs.DurationVar(&c.tcpKeepAlive, "tcp-keepalive", 0, "TCP keepalive on client and upstream sockets: a probe after this long without traffic, so a peer gone without a FIN is found before --idle-timeout (0 = off, as nginx without so_keepalive)")
	fs.StringVar(&c.connectResponse, "connect-response", "", `the head an HTTP/1.1 CONNECT's success is answered with, "\r\n" between lines (proxy_connect_response); empty = "HTTP/1.1 200 Connection established"`)
	fs.DurationVar(&c.alpnH2Grace, "alpn-h2-grace", 20*time.Millisecond, "under --camouflage go: how long a TLS client that chose h2 by ALPN may take to send an HTTP/1.1 proxy request (Go's http.Transport does so to an HTTPS proxy) before the HTTP/2 SETTINGS go out, which Go's server sends at once; 0 = at once, and HTTP/1.1 there is refused as Go refuses it")
	fs.StringVar(&c.camouflage, "camouflage", "", "whom to look like before a client proves itself: go (a default Go net/http and quic-go http3 server: HTTP/2 preface and errors, HTTP/3 SETTINGS without datagrams) or off (sluice's own, with extended CONNECT over HTTP/2 and HTTP/3 datagrams for connect-udp); empty = go with --probe-resistance, else off")
	fs.Int64Var(&c.quicMaxStreams, "quic-max-streams", 128, "concurrent request streams per QUIC connection (http3_max_concurrent_streams)")
	c.quicStreamWindow, c.quicConnWindow = 1<<20, 16<<20
	fs.Var(&c.quicStreamWindow, "quic-stream-window", "most a QUIC stream may have sent that the proxy has not read, a `size` (http3_stream_buffer_size)")
	fs.Var(&c.quicConnWindow, "quic-conn-window", "the same for a whole QUIC connection, a `size`")
	fs.DurationVar(&c.quicIdleTimeout, "quic-idle-timeout", 30*time.Second, "a QUIC connection with no packets for this long is closed (quic_timeout)")
	fs.DurationVar(&c.quicKeepAlive, "quic-keepalive", 0, "send QUIC PINGs this often to keep NAT mappings (0 = never)")
	fs.BoolVar(&c.udp, "udp", true, "serve connect-udp (RFC 9298) on HTTP/3, HTTP/2 and HTTP/1.1; off, such requests get what the site answers")
	fs.BoolVar(&c.padding, "padding", true, "grant NaïveProxy padding (Variant1) to HTTP/2 and HTTP/3 CONNECT streams that ask for it; off, they get padding-type-reply: 0")
	fs.StringVar(&c.udpTemplate, "udp-template", "/.well-known/masque/udp/{target_host}/{target_port}/", "URI template of connect-udp requests, with {target_host} and {target_port}")
	fs.DurationVar(&c.udpIdleTimeout, "udp-idle-timeout", 2*time.Minute, "a connect-udp flow with no datagram either way for this long is closed")
	c.udpMaxDatagram = 1472
	fs.Var(&c.udpMaxDatagram, "udp-max-datagram", "largest UDP payload relayed, a `size`; larger datagrams are dropped and counted")
	fs.StringVar(&c.cert, "cert", "", "TLS certificate chain (PEM); a self-signed one is generated when empty")
	fs.StringVar(&c.key, "key", "", "TLS private key (PEM) for --cert")
	fs.IntVar(&c.workers, "workers", runtime.GOMAXPROCS(0), "event loops (nginx worker_processes); GOMAXPROCS becomes this plus one unless set")
	c.bufferSize = 1 << 20
	fs.Var(&c.bufferSize, "buffer-size", "per-direction high watermark, a `size` such as 256KiB or 1MiB: above it the source stops being read")
	fs.DurationVar(&c.connectTimeout, "connect-timeout", 10*time.Second, "resolve + connect to the target; past it the client gets 504")
	fs.DurationVar(&c.idleTimeout, "idle-timeout", 5*time.Minute, "a tunnel with no bytes either way for this long is closed (0 = never)")
	fs.DurationVar(&c.headerTimeout, "header-timeout", 15*time.Second, "from accept to the end of the request head; slower clients get 408")
	fs.DurationVar(&c.handshakeTimeout, "handshake-timeout", 10*time.Second, "TLS handshake deadline")
	fs.DurationVar(&c.drainTimeout, "drain-timeout", 30*time.Second, "on SIGTERM/SIGINT, how long open tunnels may finish before they are cut")
	fs.StringVar(&c.allowPorts, "allow-ports", "443,563", "CONNECT target ports: a list of ports and ranges (443,8000-8100) or \"all\"")
	fs.StringVar(&c.forwardPorts, "allow-forward-ports", "", "ports absolute-URI requests (plain HTTP forwarding) may go to: a list, ranges or \"all\"; default 80, 443 and --allow-ports")
	fs.BoolVar(&c.noVia, "no-via", false, "forwarded requests and responses get no \"Via: 1.1 sluice\" (RFC 9110 section 7.6.3; nginx adds none, Squid's via off)")
	fs.BoolVar(&c.takeover, "takeover", false, "bind listen addresses another sluice already listens on, to take its traffic over while it drains (otherwise an address in use is an error)")
	fs.StringVar(&c.allowClients, "allow-clients", "", "client addresses and CIDRs that may use the proxy, comma-separated (Squid: acl localnet src); others get the site; empty = everyone")
	fs.BoolVar(&c.allowPrivate, "allow-private", false, "turn off the guard that refuses loopback, private, link-local and other special addresses after DNS")
	fs.StringVar(&c.aclFile, "acl", "", "ACL map file: lines \"pattern value\" (0 deny, 1 allow, 2 deny+log, 3 allow+log) and \"default value\"; reloaded on SIGHUP")
	fs.StringVar(&c.authFile, "auth-file", "", "htpasswd file (bcrypt $2y$/$2a$/$2b$, apr1, {SHA}) for proxy authentication; reloaded on SIGHUP")
	fs.StringVar(&c.authRealm, "auth-realm", "sluice", "realm in the Proxy-Authenticate challenge")
	fs.BoolVar(&c.probeResistance, "probe-resistance", false, "requests without valid credentials get what the site would answer, never 407 (needs --auth-file)")
	fs.StringVar(&c.probeSecret, "probe-secret", "", "with --probe-resistance: a request for this host, and only it, gets the 407 challenge so browsers can log in")
	fs.IntVar(&c.perUser, "max-tunnels-per-user", 0, "concurrent tunnels one user may hold; more get 429 (0 = no cap)")
	fs.IntVar(&c.perIP, "max-tunnels-per-ip", 0, "concurrent tunnels one client address (IPv6: its /64) may hold; more get 429 (0 = no cap)")
	fs.StringVar(&c.bind, "bind", "", "source address for upstream connections")
	fs.StringVar(&c.resolver, "resolver", "", "DNS server host:port to use instead of the system's")
	fs.StringVar(&c.upstreamProxy, "upstream-proxy", "", "parent proxy every TCP tunnel and forwarded request goes through, by CONNECT: http://[user:pass@]host:port or https://... (Squid cache_peer parent, Caddy upstream); connect-udp is refused with it")
	fs.StringVar(&c.upstreamProxyCA, "upstream-proxy-ca", "", "PEM `file` of the certificates an https:// --upstream-proxy is verified against, instead of the system's roots")
	fs.StringVar(&c.site, "site", "", "what non-proxy requests see: a directory of static files or an http(s):// URL to reverse-proxy; a built-in page when empty")
	fs.StringVar(&c.accessLog, "access-log", "stdout", "access log: a file path, \"stdout\", \"stderr\" or \"off\"")
	fs.StringVar(&c.logLevel, "log-level", "info", "error log level: debug, info, warn, error")
	fs.StringVar(&c.pprof, "pprof", "", "serve net/http/pprof on this address (e.g. 127.0.0.1:6060)")
	fs.StringVar(&c.metrics, "metrics", "", "serve Prometheus-format metrics at /metrics on this address")
	fs.IntVar(&c.maxConns, "max-conns", 0, "cap on concurrent client connections; more are refused at accept (0 = no cap)")
	c.spliceAfter = 8 << 20
	fs.Var(&c.spliceAfter, "splice-after", "move a plain-TCP HTTP/1.1 tunnel to splice(2), off the event loop, once it has carried this many bytes, a `size` (0 = never): about half the CPU per byte for bulk transfers")
	fs.BoolVar(&c.showVersion, "version", false, "print the version, the Go version and the versions of the modules built in, and exit")
	fs.IntVar(&c.maxSplices, "max-splices", 1024, "tunnels spliced at once; each holds two goroutines and up to two pipes while it lasts")
	fs.DurationVar(&c.memTrim, "mem-trim", 250*time.Millisecond, "look at the heap this often; once an interval allocates little, the headroom Go's collector keeps resident (GOGC percent past the live heap) goes back to the kernel (0 = never)")
	fs.BoolVar(&c.halfClose, "half-close", true, "true half-close for HTTP/1.1 tunnels: a FIN from either side is passed on and the other way keeps flowing")
	fs.StringVar(&c.configFile, "config", "", "read settings from this `file`: one \"name value\" per line, the names of these flags without dashes, # comments; flags on the command line win")
	fs.BoolVar(&c.checkOnly, "check", false, "check the flags, the config file and every file they name (certificate, --auth-file, --acl, --site), print \"configuration ok\" or the errors, and exit 0 or 1 without listening")
	fs.Usage = func() { printUsage(fs) }
	return fs
}

// check validates the flags against each other; it reports every problem,
// not just the first.
func (c *config) check() error {
	var errs []error
	fail := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.bind != "" {
		if _, err := netip.ParseAddr(c.bind); err != nil {
			fail("--bind %q: not an IP address", c.bind)
		}
	}
	if (c.cert == "") != (c.key == "") {
		fail("--cert and --key go together")
	}
	if c.bufferSize < 4096 {
		fail("--buffer-size %s: at least 4KiB", &c.bufferSize)
	}
	if c.probeResistance && c.authFile == "" {
		fail("--probe-resistance needs --auth-file: without credentials there is nothing to hide behind")
	}
	if c.probeSecret != "" && !c.probeResistance {
		fail("--probe-secret goes with --probe-resistance")
	}
	if c.listen == "" && c.listenTLS == "" && c.listenQUIC.addr(c.listenTLS) == "" && c.listenSNI == "" {
		fail("nothing to listen on: set --listen, --listen-tls, --listen-quic or --listen-sni")
	}
	if c.udpMaxDatagram < 1 || c.udpMaxDatagram > 65527 {
		fail("--udp-max-datagram %s: between 1 and 65527 bytes", &c.udpMaxDatagram)
	}
	if _, err := relay.ParseUDPTemplate(c.udpTemplate); err != nil {
		fail("--udp-template %q: %v", c.udpTemplate, err)
	}
	if c.connectTimeout <= 0 {
		fail("--connect-timeout %v: must be positive (every dial and DNS query ends at it)", c.connectTimeout)
	}
	if c.memTrim < 0 {
		fail("--mem-trim %v: 0 (off) or positive", c.memTrim)
	}
	if c.sniPort < 1 || c.sniPort > 65535 {
		fail("--sni-port %d: between 1 and 65535", c.sniPort)
	}
	if c.sniDefault != "" {
		if _, err := acl.ParseTarget(sniDefaultTarget(c.sniDefault, c.sniPort)); err != nil {
			fail("--sni-default %q: %w", c.sniDefault, err)
		}
	}
	if c.h2MaxStreams < 1 || c.h2MaxStreams > 1<<20 {
		fail("--h2-max-streams %d: between 1 and 1048576", c.h2MaxStreams)
	}
	if c.h2MaxFrameSize < 16<<10 || c.h2MaxFrameSize > 1<<24-1 {
		fail("--h2-max-frame-size %s: between 16KiB and 16777215", c.h2MaxFrameSize.String())
	}
	if c.quicMaxStreams < 1 {
		fail("--quic-max-streams %d: at least 1", c.quicMaxStreams)
	}
	if c.camouflage != "" && c.camouflage != "go" && c.camouflage != "off" {
		fail("--camouflage %q: go or off", c.camouflage)
	}
	if c.connectResponse != "" {
		if _, err := h1.ParseConnectResponse(c.connectResponse); err != nil {
			fail("--connect-response: %v", err)
		}
	}
	if c.upstreamProxy != "" {
		if p, err := relay.ParseParent(c.upstreamProxy); err != nil {
			fail("--upstream-proxy: %v", err)
		} else if c.upstreamProxyCA != "" && p.TLS == nil {
			fail("--upstream-proxy-ca goes with an https:// --upstream-proxy")
		}
	} else if c.upstreamProxyCA != "" {
		fail("--upstream-proxy-ca goes with an https:// --upstream-proxy")
	}
	for name, d := range map[string]time.Duration{"h2-idle-timeout": c.h2IdleTimeout, "h2-ping-timeout": c.h2PingTimeout,
		"h2-settings-timeout": c.h2SettingsTimeout, "tcp-keepalive": c.tcpKeepAlive, "alpn-h2-grace": c.alpnH2Grace} {
		if d < 0 {
			fail("--%s %v: not negative", name, d)
		}
	}
	return errors.Join(errs...)
}

// quicAddr is --listen-quic: by default the --listen-tls address.
type quicAddr struct {
	v   string
	set bool
}

func (q *quicAddr) Set(v string) error { q.v, q.set = v, true; return nil }

func (q *quicAddr) String() string {
	if q == nil || !q.set {
		return "the --listen-tls address"
	}
	return q.v
}

// addr is the UDP address to serve HTTP/3 on, or "".
func (q *quicAddr) addr(tls string) string {
	if q.set {
		return q.v
	}
	return tls
}

// sniDefaultTarget is --sni-default with --sni-port when it names no port.
func sniDefaultTarget(d string, port uint) string {
	if _, _, err := net.SplitHostPort(d); err == nil {
		return d
	}
	return net.JoinHostPort(d, strconv.Itoa(int(port)))
}

// camouflageGo reports whether the HTTP/2 preface is Go net/http's.
func (c *config) camouflageGo() bool {
	return c.camouflage == "go" || c.camouflage == "" && c.probeResistance
}
