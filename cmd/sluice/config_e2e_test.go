package main

// End-to-end tests of the configuration: the --config file (format,
// precedence, errors that name file and line) and --check.

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestE2EConfigFileFormat: names without dashes, whole-line and trailing
// comments, blank lines, a bare boolean and one with a value, values with
// spaces, quoted values (empty, and one holding a #), tabs as separators.
func TestE2EConfigFileFormat(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, `# a whole-line comment

listen 127.0.0.1:18080   # a trailing comment
listen-tls	""
  quic-0rtt
padding false
auth-realm   My Proxy   Realm  
probe-secret "login # here"
probe-resistance true
auth-file /etc/sluice/users.htpasswd
allow-clients 10.0.0.0/8, 192.0.2.1#not-a-comment
buffer-size 256KiB
idle-timeout	90s
`)
	cfg, err := parseFlags([]string{"--config", path}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"listen": "127.0.0.1:18080", "listen-tls": "", "quic-0rtt": "true", "padding": "false",
		"auth-realm": "My Proxy   Realm", "probe-secret": "login # here",
		"allow-clients": "10.0.0.0/8, 192.0.2.1#not-a-comment", "buffer-size": "256KiB", "idle-timeout": "1m30s",
	} {
		if got := cfg.values[name]; got != want {
			t.Errorf("%s = %q; want %q", name, got, want)
		}
	}
	if cfg.bufferSize != 256<<10 || !cfg.quic0RTT || cfg.padding || cfg.listenTLS != "" || cfg.idleTimeout != 90*time.Second {
		t.Errorf("config %+v", cfg)
	}
	// Settings the file does not name keep their defaults.
	if cfg.connectTimeout != 10*time.Second || cfg.allowPorts != "443,563" {
		t.Errorf("defaults not kept: connect-timeout %v, allow-ports %q", cfg.connectTimeout, cfg.allowPorts)
	}
}

// TestE2EConfigFileCommandLineWins: a flag given on the command line wins
// over the file, before or after --config; the file still fills in the
// rest.
func TestE2EConfigFileCommandLineWins(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, "listen 127.0.0.1:18080\nlisten-tls \"\"\nidle-timeout 1m\npadding false\n")
	for _, args := range [][]string{
		{"--idle-timeout", "2m", "--config", path, "--padding"},
		{"--config", path, "--idle-timeout", "2m", "--padding=true"},
	} {
		cfg, err := parseFlags(args, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.idleTimeout != 2*time.Minute || !cfg.padding || cfg.listen != "127.0.0.1:18080" {
			t.Errorf("%q: idle-timeout %v, padding %v, listen %q; want the command line's 2m and true, the file's listen",
				args, cfg.idleTimeout, cfg.padding, cfg.listen)
		}
	}
}

// TestE2EConfigFileErrors: every bad line is reported, each as
// "file:line: what", and a start with such a file fails.
func TestE2EConfigFileErrors(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, `listen-tls ""
lisen 127.0.0.1:8080
idle-timeout 1m
idle-timeout 2m
buffer-size lots
padding maybe
site
config /etc/other.conf
--workers 2
auth-realm "unterminated
listen 127.0.0.1:0
`)
	_, err := parseFlags([]string{"--config", path}, io.Discard)
	if err == nil {
		t.Fatal("a broken config file was accepted")
	}
	var b bytes.Buffer
	printErrors(&b, err)
	want := []string{
		`sluice: ` + path + `:2: unknown setting "lisen" (did you mean "listen"?)`,
		`sluice: ` + path + `:4: "idle-timeout" repeated (first set on line 3)`,
		`sluice: ` + path + `:5: bad value "lots" for buffer-size`,
		`sluice: ` + path + `:6: bad value "maybe" for padding: true or false`,
		`sluice: ` + path + `:7: "site" needs a value`,
		`sluice: ` + path + `:8: "config" cannot be set in a config file`,
		`sluice: ` + path + `:9: unknown setting "--workers" (write names without dashes: "workers")`,
		`sluice: ` + path + `:10: auth-realm: unterminated`,
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != len(want) {
		t.Errorf("%d error lines; want %d:\n%s", len(lines), len(want), b.String())
	}
	for i, w := range want {
		if i >= len(lines) || !strings.HasPrefix(lines[i], w) {
			t.Errorf("error line %d: want it to start %q; all:\n%s", i+1, w, b.String())
		}
	}
	if _, err := parseFlags([]string{"--config", filepath.Join(t.TempDir(), "missing.conf")}, io.Discard); err == nil || !strings.Contains(err.Error(), "missing.conf") {
		t.Errorf("a missing config file: %v; want an error naming it", err)
	}
	// The file is checked whole even where the command line overrides it.
	bad := writeConfig(t, "idle-timeout forever\n")
	if _, err := parseFlags([]string{"--idle-timeout", "1m", "--config", bad}, io.Discard); err == nil || !strings.Contains(err.Error(), bad+":1:") {
		t.Errorf("a bad line overridden on the command line: %v; want it reported", err)
	}
}

// TestE2EConfigFileServes: a proxy started from a config file applies it:
// the file's per-address tunnel limit is in force.
func TestE2EConfigFileServes(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	path := writeConfig(t, "max-tunnels-per-ip 1\nallow-ports all\nallow-private\n")
	p := startProxy(t, "--config", path)
	const src = "127.0.0.51"
	c := tunnelWith(t, p, false, src, echo.addr(), "", "the first tunnel")
	expectH1Status(t, p, true, src, echo.addr(), "", 429, "a second tunnel, past the file's max-tunnels-per-ip 1")
	_ = c.Close()
}

// runCheck runs --check as main does and returns the exit status, stdout
// and stderr.
func runCheck(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	cfg, err := parseFlags(append([]string{"--check"}, args...), io.Discard)
	if cfg == nil {
		t.Fatalf("--check %q: the command line does not parse: %v", args, err)
	}
	code := checkMain(cfg, err, &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestE2ECheckOK: --check on a good configuration says "configuration ok",
// exits 0, and listens on nothing: its ports are still free afterwards;
// every file it names was read (a certificate pair, users, an ACL, a site
// directory).
func TestE2ECheckOK(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	validFiles(t, dir, "tls/c.pem", "tls/k.pem", "users", "acl.map", "www")
	plain, tlsAddr := freePort(t), freePort(t)
	cfg := writeConfig(t, strings.Join([]string{
		"listen " + plain, "listen-tls " + tlsAddr,
		"cert " + filepath.Join(dir, "tls/c.pem"), "key " + filepath.Join(dir, "tls/k.pem"),
		"auth-file " + filepath.Join(dir, "users"), "acl " + filepath.Join(dir, "acl.map"),
		"site " + filepath.Join(dir, "www"), "access-log " + filepath.Join(dir, "logs", "access.log"),
		"udp-template /masque?h={target_host}&p={target_port}",
	}, "\n")+"\n")
	if err := os.Mkdir(filepath.Join(dir, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCheck(t, "--config", cfg)
	if code != 0 || out != "configuration ok\n" || errOut != "" {
		t.Fatalf("--check: exit %d, stdout %q, stderr %q; want 0, \"configuration ok\"", code, out, errOut)
	}
	for _, addr := range []string{plain, tlsAddr} {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("after --check, %s is not free: %v", addr, err)
		}
		_ = ln.Close()
	}
	if _, err := os.Stat(filepath.Join(dir, "logs", "access.log")); err == nil {
		t.Error("--check created the access log")
	}
}

// TestE2ECheckErrors: --check reports every broken file and setting at
// once, each naming what is wrong, and exits 1.
func TestE2ECheckErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	validFiles(t, dir, "c.pem", "k.pem", "users", "acl.map", "www")
	otherCert, otherKey := writeCertPair(t, dir, "other", "other", time.Now().Add(time.Hour))
	_ = otherCert
	writeFileAtomic(t, filepath.Join(dir, "bad-users"), "alice:plaintext\n")
	writeFileAtomic(t, filepath.Join(dir, "bad.map"), "default 1\nexample.com 9\n")
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"cert and key that do not match", []string{"--cert", filepath.Join(dir, "c.pem"), "--key", otherKey},
			[]string{"certificate " + filepath.Join(dir, "c.pem") + " with key " + otherKey}},
		{"every file broken at once", []string{
			"--auth-file", filepath.Join(dir, "bad-users"), "--acl", filepath.Join(dir, "bad.map"),
			"--site", filepath.Join(dir, "nowhere"), "--cert", filepath.Join(dir, "missing.pem"), "--key", filepath.Join(dir, "k.pem"),
			"--access-log", filepath.Join(dir, "no-such-dir", "access.log"), "--listen", "127.0.0.1:http-alt-nonsense",
		}, []string{
			"--auth-file: " + filepath.Join(dir, "bad-users") + ":1:",
			"--acl: " + filepath.Join(dir, "bad.map") + ":2:",
			"--site \"" + filepath.Join(dir, "nowhere") + "\": not a directory",
			"certificate: open " + filepath.Join(dir, "missing.pem"),
			"--listen \"127.0.0.1:http-alt-nonsense\": not host:port",
			"--access-log " + filepath.Join(dir, "no-such-dir", "access.log") + ": directory",
		}},
		{"a site URL without a host", []string{"--site", "http://"}, []string{`--site "http://": a URL without a host`}},
		{"a bad UDP template", []string{"--udp-template", "/masque/{target_host}"}, []string{"--udp-template"}},
		{"two listeners on one port", []string{"--listen", "0.0.0.0:18081", "--listen-sni", "127.0.0.1:18081"},
			[]string{"--listen 0.0.0.0:18081 and --listen-sni 127.0.0.1:18081: the same TCP port"}},
		{"flags that contradict each other", []string{"--probe-resistance", "--cert", filepath.Join(dir, "c.pem")},
			[]string{"--cert and --key go together", "--probe-resistance needs --auth-file"}},
		{"a broken config file", []string{"--config", writeConfig(t, "lisen :8080\n")}, []string{`:1: unknown setting "lisen"`}},
	}
	for _, c := range cases {
		code, out, errOut := runCheck(t, append([]string{"--listen-tls", "127.0.0.1:0", "--access-log", "off"}, c.args...)...)
		if code != 1 || out != "" {
			t.Errorf("%s: exit %d, stdout %q; want 1 and nothing on stdout", c.name, code, out)
		}
		for _, w := range c.want {
			if !strings.Contains(errOut, w) {
				t.Errorf("%s: stderr lacks %q:\n%s", c.name, w, errOut)
			}
		}
		if n := strings.Count(errOut, "sluice: "); n != len(c.want) {
			t.Errorf("%s: %d errors reported; want %d:\n%s", c.name, n, len(c.want), errOut)
		}
	}
}

// TestE2ECheckWarnings: --check passes but warns about an expired
// certificate and an open proxy.
func TestE2ECheckWarnings(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cert, key := writeCertPair(t, dir, "old", "old", time.Now().Add(-time.Hour))
	code, out, errOut := runCheck(t, "--listen", "0.0.0.0:0", "--listen-tls", "127.0.0.1:0", "--cert", cert, "--key", key, "--access-log", "off")
	if code != 0 || out != "configuration ok\n" {
		t.Fatalf("exit %d, stdout %q; want 0, configuration ok", code, out)
	}
	for _, w := range []string{"sluice: warning: --cert " + cert + " expired on", "sluice: warning: --listen 0.0.0.0:0: an open proxy"} {
		if !strings.Contains(errOut, w) {
			t.Errorf("stderr lacks %q:\n%s", w, errOut)
		}
	}
}
