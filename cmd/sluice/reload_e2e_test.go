package main

// End-to-end tests of what a reload (SIGHUP, s.reload) applies from the
// config file and the files it names: tunnel limits, certificates, the one
// log line that says what changed, the settings that need a restart, and
// a broken file keeping the whole running configuration. The ACL and the
// users are in acl_e2e_test.go and auth_e2e_test.go.

import (
	"context"
	"crypto/tls"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// TestE2EReloadLimits: --max-tunnels-per-ip changed in the config file
// applies on reload, raised and lowered, without touching open tunnels;
// the log line says old and new; turned on from off, it says that the
// tunnels already open are not counted.
func TestE2EReloadLimits(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	target := echo.addr()
	conf := filepath.Join(t.TempDir(), "sluice.conf")
	writeFileAtomic(t, conf, "max-tunnels-per-ip 1\n")
	p := startOpenProxy(t, "--config", conf)
	const src = "127.0.0.61"

	first := tunnelWith(t, p, false, src, target, "", "the first tunnel")
	expectH1Status(t, p, false, src, target, "", 429, "a second tunnel at max-tunnels-per-ip 1")

	writeFileAtomic(t, conf, "max-tunnels-per-ip 2\n")
	p.s.reload()
	p.waitErrLog(`"message":"reload: max-tunnels-per-ip 1 -> 2"`)
	second := tunnelWith(t, p, true, src, target, "", "a second tunnel after raising the limit to 2")
	expectH1Status(t, p, false, src, target, "", 429, "a third tunnel at 2")

	writeFileAtomic(t, conf, "max-tunnels-per-ip 1\n")
	p.s.reload()
	p.waitErrLog(`"message":"reload: max-tunnels-per-ip 2 -> 1"`)
	echoOnce(t, first, "a tunnel opened before the limit was lowered below what is open")
	echoOnce(t, second, "the other one")
	expectH1Status(t, p, false, src, target, "", 429, "a new tunnel while above the lowered limit")
	_ = first.Close()
	expectH1Status(t, p, false, src, target, "", 429, "a new tunnel at the lowered limit")
	_ = second.Close()
	third := retryTunnel(t, p, false, src, target, "", "a tunnel once below the lowered limit")
	_ = third.Close()

	writeFileAtomic(t, conf, "# no limit\n")
	p.s.reload()
	p.waitErrLog(`"message":"reload: max-tunnels-per-ip 1 -> 0"`)
	var open []net.Conn
	for i := 0; i < 3; i++ {
		open = append(open, tunnelWith(t, p, false, src, target, "", "a tunnel with no limit"))
	}
	writeFileAtomic(t, conf, "max-tunnels-per-ip 1\n")
	p.s.reload()
	p.waitErrLog(`"message":"reload: max-tunnels-per-ip 0 -> 1 (tunnels open before are not counted)"`)
	c := tunnelWith(t, p, false, src, target, "", "the first tunnel counted against a limit turned on")
	expectH1Status(t, p, false, src, target, "", 429, "a second counted tunnel")
	_ = c.Close()
	for _, c := range open {
		_ = c.Close()
	}
}

// TestE2EReloadSays: a reload with nothing changed logs "reload:
// unchanged"; a setting that cannot change live is named as needing a
// restart and keeps its running value, while the live ones beside it are
// applied; a reload that fails on the config file applies nothing.
func TestE2EReloadSays(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	conf := filepath.Join(t.TempDir(), "sluice.conf")
	writeFileAtomic(t, conf, "max-tunnels-per-ip 1\nidle-timeout 5m\n")
	p := startOpenProxy(t, "--config", conf)
	const src = "127.0.0.62"

	p.s.reload()
	p.waitErrLog(`"message":"reload: unchanged"`)

	writeFileAtomic(t, conf, "max-tunnels-per-ip 2\nidle-timeout 1m\nh2-max-streams 50\nlisten 127.0.0.1:1\n")
	p.s.reload()
	// listen is given on the command line too, which wins: not a change.
	p.waitErrLog(`"level":"warn","needs_restart":["h2-max-streams","idle-timeout"]`,
		`"message":"reload: max-tunnels-per-ip 1 -> 2; changed but not applied, needs a restart: h2-max-streams, idle-timeout"`)
	if p.s.cfg.idleTimeout != 5*time.Minute || p.s.cfg.h2MaxStreams != 100 {
		t.Errorf("running idle-timeout %v, h2-max-streams %d; want the start's 5m and 100", p.s.cfg.idleTimeout, p.s.cfg.h2MaxStreams)
	}
	a := tunnelWith(t, p, false, src, echo.addr(), "", "a first tunnel")
	b := tunnelWith(t, p, false, src, echo.addr(), "", "a second tunnel, at the reloaded limit 2")

	// The file breaks: nothing of it is applied, the limit stays 2.
	writeFileAtomic(t, conf, "max-tunnels-per-ip 3\nidle-timeout soon\n")
	p.s.reload()
	p.waitErrLog(`"message":"config file reload failed; keeping the running configuration"`, conf+":2: bad value")
	expectH1Status(t, p, false, src, echo.addr(), "", 429, "a third tunnel after a failed reload")
	_, _ = a.Close(), b.Close()
	if strings.Contains(p.errLog.String(), "-> 3") {
		t.Errorf("a reload that failed applied something:\n%s", p.errLog.String())
	}
}

// quicCN is the common name of the certificate the HTTP/3 listener at addr
// presents.
func quicCN(t *testing.T, addr string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	conn, err := quic.DialAddr(ctx, addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{http3.NextProtoH3}}, nil)
	if err != nil {
		t.Fatalf("QUIC to %s: %v", addr, err)
	}
	defer conn.CloseWithError(0, "")
	return conn.ConnectionState().TLS.PeerCertificates[0].Subject.CommonName
}

// TestE2EReloadCertificate: a certificate replaced on disk is served by the
// TLS and QUIC listeners after a reload, to new handshakes; a pair that
// does not match keeps the running certificate (and everything else of
// that reload); a reload with the same files says unchanged.
func TestE2EReloadCertificate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cert, key := writeCertPair(t, dir, "site", "first", time.Now().Add(90*24*time.Hour))
	conf := filepath.Join(t.TempDir(), "sluice.conf")
	writeFileAtomic(t, conf, "cert "+cert+"\nkey "+key+"\nmax-tunnels-per-ip 1\n")
	p := startOpenProxy(t, "--config", conf)
	if cn := servedCN(t, p.tls); cn != "first" {
		t.Fatalf("served %q; want the first certificate", cn)
	}
	p.s.reload()
	p.waitErrLog(`"message":"reload: unchanged"`)

	writeCertPair(t, dir, "site", "second", time.Date(2031, 5, 4, 0, 0, 0, 0, time.UTC))
	p.s.reload()
	p.waitErrLog(`"message":"reload: certificate reloaded (valid until 2031-05-04)"`)
	if cn := servedCN(t, p.tls); cn != "second" {
		t.Errorf("TLS listener serves %q after the reload; want the second certificate", cn)
	}
	if cn := quicCN(t, p.quic); cn != "second" {
		t.Errorf("QUIC listener serves %q after the reload; want the second certificate", cn)
	}

	// A new certificate whose key is not the one on disk, with a limit
	// change in the same file: neither is applied.
	_, otherKey := writeCertPair(t, dir, "other", "third", time.Now().Add(time.Hour))
	writeFileAtomic(t, conf, "cert "+cert+"\nkey "+otherKey+"\nmax-tunnels-per-ip 5\n")
	p.s.reload()
	p.waitErrLog(`"message":"certificate reload failed; keeping the running configuration"`)
	if cn := servedCN(t, p.tls); cn != "second" {
		t.Errorf("TLS listener serves %q after a failed reload; want the second certificate still", cn)
	}
	if strings.Contains(p.errLog.String(), "-> 5") || p.s.cfg.perIP != 1 {
		t.Errorf("a reload with a broken certificate applied the limit (per-ip %d)", p.s.cfg.perIP)
	}
}
