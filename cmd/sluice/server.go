package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	_ "net/http/pprof" // served only on --pprof's own listener
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/sluice-proxy/sluice/acl"
	"github.com/sluice-proxy/sluice/engine"
	"github.com/sluice-proxy/sluice/h1"
	"github.com/sluice-proxy/sluice/h2"
	"github.com/sluice-proxy/sluice/relay"
)

// server wires the engine, the front ends and the policy together.
type server struct {
	cfg       *config
	log       zerolog.Logger
	accessOut io.WriteCloser
	eng       *engine.Engine
	policy    *relay.Policy
	h1        *h1.Server
	h2        *h2.Server
	splices   *relay.Splices
	aux       []*http.Server      // pprof, metrics
	addrs     map[string]net.Addr // "listen", "listen-tls"
}

func newServer(cfg *config, errOut io.Writer) (*server, error) {
	lvl, err := zerolog.ParseLevel(cfg.logLevel)
	if err != nil {
		return nil, fmt.Errorf("--log-level %q: %w", cfg.logLevel, err)
	}
	s := &server{cfg: cfg, addrs: map[string]net.Addr{}}
	s.log = zerolog.New(errOut).Level(lvl).With().Timestamp().Logger()

	var accessLog *zerolog.Logger
	switch cfg.accessLog {
	case "off", "":
	case "stdout":
		l := zerolog.New(os.Stdout)
		accessLog = &l
	case "stderr":
		l := zerolog.New(os.Stderr)
		accessLog = &l
	default:
		f, err := os.OpenFile(cfg.accessLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("--access-log: %w", err)
		}
		s.accessOut = f
		l := zerolog.New(f)
		accessLog = &l
	}

	ports, err := acl.ParsePorts(cfg.allowPorts)
	if err != nil {
		return nil, fmt.Errorf("--allow-ports: %w", err)
	}
	fwd := cfg.forwardPorts
	if fwd == "" {
		fwd = "80,443," + ports.String()
	}
	forwardPorts, err := acl.ParsePorts(fwd)
	if err != nil {
		return nil, fmt.Errorf("--allow-forward-ports: %w", err)
	}
	s.policy = &relay.Policy{Ports: ports, ForwardPorts: forwardPorts, AllowPrivate: cfg.allowPrivate, ConnectTimeout: cfg.connectTimeout}
	if cfg.aclFile != "" {
		m, err := acl.LoadMap(cfg.aclFile)
		if err != nil {
			return nil, fmt.Errorf("--acl: %w", err)
		}
		s.policy.ACL.Store(m)
	}
	if err := s.setupGate(); err != nil {
		return nil, err
	}
	site, err := siteHandler(cfg.site)
	if err != nil {
		return nil, err
	}
	rcfg := &relay.Config{
		High:        int(cfg.bufferSize),
		IdleTimeout: cfg.idleTimeout,
		AccessLog:   accessLog,
		SpliceAfter: int64(cfg.spliceAfter),
		Splices:     &relay.Splices{Max: cfg.maxSplices},
	}
	s.splices = rcfg.Splices
	s.h2 = &h2.Server{
		Policy:      s.policy,
		Relay:       rcfg,
		Site:        site,
		IdleTimeout: 75 * time.Second,
	}
	s.h1 = &h1.Server{
		H2:            s.h2.Open,
		Limits:        h1.DefaultLimits(),
		Policy:        s.policy,
		Relay:         rcfg,
		HeaderTimeout: cfg.headerTimeout,
		Site:          site,
	}

	ecfg := engine.Config{
		Workers:          cfg.workers,
		MaxConns:         cfg.maxConns,
		HalfClose:        cfg.halfClose,
		HandshakeTimeout: cfg.handshakeTimeout,
		Takeover:         cfg.takeover,
		Log:              s.log,
	}
	if cfg.bind != "" {
		ecfg.Bind = netip.MustParseAddr(cfg.bind)
	}
	if cfg.resolver != "" {
		ecfg.Resolver = resolverFor(cfg.resolver)
	}
	s.eng = engine.New(ecfg)

	if cfg.listen != "" {
		a, err := s.eng.Listen(engine.ListenerSpec{Addr: cfg.listen, Open: s.h1.Open})
		if err != nil {
			return nil, fmt.Errorf("--listen: %w", err)
		}
		s.addrs["listen"] = a
	}
	if cfg.listenTLS != "" {
		tc, err := s.tlsConfig()
		if err != nil {
			return nil, err
		}
		a, err := s.eng.Listen(engine.ListenerSpec{Addr: cfg.listenTLS, TLS: tc, Open: s.openTLS})
		if err != nil {
			return nil, fmt.Errorf("--listen-tls: %w", err)
		}
		s.addrs["listen-tls"] = a
	}
	s.policy.Self = selfAddrs(s.addrs)
	s.logPolicy()
	return s, nil
}

// logPolicy says at start what the policy refuses and which flag opens it:
// a new user's first local test meets the defaults.
func (s *server) logPolicy() {
	ev := s.log.Info().
		Str("connect_ports", s.policy.Ports.String()).
		Str("forward_ports", s.policy.ForwardPorts.String())
	if !s.policy.AllowPrivate {
		ev = ev.Str("private_targets", "refused after DNS: loopback, private, link-local and other special addresses (--allow-private opens them)")
	}
	if s.policy.Gate.Auth == nil {
		ev = ev.Str("auth", "none: anyone who reaches a listener may use the proxy (--auth-file)")
	}
	ev.Msg("policy: CONNECT only to --allow-ports, plain HTTP forwarding only to --allow-forward-ports")
}

// selfAddrs returns a test for the proxy's own listening addresses; a
// wildcard listener covers every address of this host's interfaces.
func selfAddrs(addrs map[string]net.Addr) func(netip.AddrPort) bool {
	self := map[netip.AddrPort]bool{}
	var local []netip.Addr
	if ifs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range ifs {
			if p, err := netip.ParsePrefix(a.String()); err == nil {
				local = append(local, p.Addr().Unmap())
			}
		}
	}
	for _, a := range addrs {
		ap, err := netip.ParseAddrPort(a.String())
		if err != nil {
			continue
		}
		if ap.Addr().IsUnspecified() {
			for _, ip := range local {
				self[netip.AddrPortFrom(ip, ap.Port())] = true
			}
			continue
		}
		self[netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())] = true
	}
	return func(ap netip.AddrPort) bool { return self[netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())] }
}

// openTLS picks the front end by ALPN.
func (s *server) openTLS(c *engine.Conn) engine.Handler {
	if c.ALPN() == "h2" {
		return s.h1.OpenALPNH2(c)
	}
	return s.h1.Open(c)
}

func (s *server) tlsConfig() (*tls.Config, error) {
	var cert tls.Certificate
	var err error
	if s.cfg.cert != "" {
		cert, err = tls.LoadX509KeyPair(s.cfg.cert, s.cfg.key)
	} else {
		cert, err = engine.SelfSignedCert()
		s.log.Info().Msg("no --cert given: using a generated self-signed certificate")
	}
	if err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{"h2", "http/1.1"},
		MinVersion:   tls.VersionTLS12,
	}, nil
}

func (s *server) start() error {
	if err := s.eng.Start(); err != nil {
		return err
	}
	if s.cfg.pprof != "" {
		// net/http/pprof registers on DefaultServeMux, which serves only this listener.
		if err := s.serveAux("pprof", s.cfg.pprof, http.DefaultServeMux); err != nil {
			return err
		}
	}
	if s.cfg.metrics != "" {
		mux := http.NewServeMux()
		mux.Handle("/metrics", s.metricsHandler())
		if err := s.serveAux("metrics", s.cfg.metrics, mux); err != nil {
			return err
		}
	}
	return nil
}

// serveAux runs an operator-facing HTTP listener (pprof, metrics) beside
// the proxy, on net/http: not the hot path.
func (s *server) serveAux(name, addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--%s: %w", name, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.aux = append(s.aux, srv)
	s.addrs[name] = ln.Addr()
	go func() { _ = srv.Serve(ln) }()
	return nil
}

// shutdown drains: no new conns, open tunnels (spliced ones too) get
// until ctx is done; then what is left is cut and logged as such, while
// the loops still run to log it.
func (s *server) shutdown(ctx context.Context) error {
	serr := make(chan error, 1)
	go func() { serr <- s.splices.Drain(ctx) }()
	err := s.eng.Drain(ctx)
	if e := <-serr; err == nil {
		err = e
	}
	s.eng.Stop()
	s.h1.Close()
	for _, a := range s.aux {
		_ = a.Close()
	}
	if s.accessOut != nil {
		_ = s.accessOut.Close()
	}
	return err
}

// reload re-reads the files that SIGHUP covers; a broken file keeps the old
// one in force. Open tunnels are not touched.
func (s *server) reload() {
	if s.cfg.authFile != "" {
		u, err := acl.LoadHtpasswd(s.cfg.authFile)
		if err != nil {
			s.log.Error().Err(err).Str("file", s.cfg.authFile).Msg("auth file reload failed; keeping the old users")
		} else {
			s.policy.Gate.Auth.SetUsers(u)
			s.log.Info().Str("file", s.cfg.authFile).Int("users", u.Len()).Msg("auth file reloaded")
		}
	}
	if s.cfg.aclFile != "" {
		m, err := acl.LoadMap(s.cfg.aclFile)
		if err != nil {
			s.log.Error().Err(err).Str("file", s.cfg.aclFile).Msg("acl reload failed; keeping the old map")
		} else {
			s.policy.ACL.Store(m)
			s.log.Info().Str("file", s.cfg.aclFile).Int("rules", m.Len()).Msg("acl reloaded")
		}
	}
}

// setupGate builds authentication, probe resistance and the tunnel limits.
func (s *server) setupGate() error {
	cfg := s.cfg
	g := &relay.Gate{
		Realm:           cfg.authRealm,
		ProbeResistance: cfg.probeResistance,
		ProbeSecret:     strings.ToLower(strings.TrimSuffix(cfg.probeSecret, ".")),
		PerUser:         acl.NewLimiter[string](cfg.perUser),
		PerIP:           acl.NewLimiter[netip.Prefix](cfg.perIP),
	}
	if cfg.authFile != "" {
		u, err := acl.LoadHtpasswd(cfg.authFile)
		if err != nil {
			return fmt.Errorf("--auth-file: %w", err)
		}
		g.Auth = acl.NewAuthenticator(u, 0)
		s.log.Info().Str("file", cfg.authFile).Int("users", u.Len()).Msg("proxy authentication on")
	}
	s.policy.Gate = g
	return nil
}

func resolverFor(addr string) *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			d := net.Dialer{Timeout: 5 * time.Second}
			return d.DialContext(ctx, network, addr)
		},
	}
}
