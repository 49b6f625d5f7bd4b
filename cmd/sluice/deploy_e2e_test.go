package main

// End-to-end tests of what this directory ships for a deployment: the
// example config (sluice.conf.example) and the systemd unit
// (sluice.service), so that neither rots.

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// exampleConfig is sluice.conf.example with its /etc/sluice and
// /var/log/sluice paths moved under dir, where validFiles put valid files.
func exampleConfig(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile("sluice.conf.example")
	if err != nil {
		t.Fatal(err)
	}
	validFiles(t, dir, "etc/tls/fullchain.pem", "etc/tls/privkey.pem", "etc/users.htpasswd", "etc/acl.map", "srv/www")
	if err := os.MkdirAll(filepath.Join(dir, "log"), 0o755); err != nil {
		t.Fatal(err)
	}
	text := strings.NewReplacer("/etc/sluice/", dir+"/etc/", "/var/log/sluice/", dir+"/log/", "/srv/www", dir+"/srv/www").Replace(string(b))
	path := filepath.Join(dir, "sluice.conf")
	writeFileAtomic(t, path, text)
	return path
}

// TestE2EDeployExampleConfig: sluice.conf.example passes --check (with its files
// in a temp dir), and each setting it shows commented out ("#name value")
// is a valid setting too, so the example cannot rot.
func TestE2EDeployExampleConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := exampleConfig(t, dir)
	code, out, errOut := runCheck(t, "--config", path)
	if code != 0 || out != "configuration ok\n" {
		t.Fatalf("--check on the example: exit %d, stdout %q, stderr:\n%s", code, out, errOut)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n, tried := 0, 0
	for sc.Scan() {
		n++
		ln := sc.Text()
		if !strings.HasPrefix(ln, "#") || len(ln) < 2 || ln[1] == ' ' || ln[1] == '#' {
			continue // prose
		}
		tried++
		one := writeConfig(t, ln[1:]+"\n")
		// With what the settings that go with others need.
		base := []string{"--config", one, "--listen", "127.0.0.1:0", "--auth-file", filepath.Join(dir, "etc/users.htpasswd"), "--probe-resistance"}
		if _, err := parseFlags(base, io.Discard); err != nil {
			t.Errorf("sluice.conf.example:%d: the commented-out setting %q does not parse: %v", n, ln, err)
		}
	}
	if tried < 5 {
		t.Errorf("only %d commented-out settings found in the example", tried)
	}
}

// TestE2EDeploySystemdUnit: sluice.service runs sluice from the config file
// with the sandbox and limits the README describes, and its ExecStart and
// ExecReload command lines parse (against the example config).
func TestE2EDeploySystemdUnit(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("sluice.service")
	if err != nil {
		t.Fatal(err)
	}
	unit := map[string][]string{}
	for _, ln := range strings.Split(string(b), "\n") {
		ln = strings.TrimSpace(ln)
		if k, v, ok := strings.Cut(ln, "="); ok && !strings.HasPrefix(ln, "#") {
			unit[k] = append(unit[k], v)
		}
	}
	for k, want := range map[string]string{
		"Type": "notify", "ExecStart": "/usr/local/bin/sluice --config /etc/sluice/sluice.conf",
		"LimitNOFILE": "1048576", "AmbientCapabilities": "CAP_NET_BIND_SERVICE", "CapabilityBoundingSet": "CAP_NET_BIND_SERVICE",
		"User": "sluice", "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
		"PrivateDevices": "yes", "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes", "ProtectControlGroups": "yes",
		"RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX AF_NETLINK", "RestrictNamespaces": "yes", "LockPersonality": "yes",
		"MemoryDenyWriteExecute": "yes", "SystemCallArchitectures": "native", "LogsDirectory": "sluice", "KillSignal": "SIGTERM",
	} {
		if got := unit[k]; len(got) != 1 || got[0] != want {
			t.Errorf("sluice.service %s=%q; want %q", k, got, want)
		}
	}
	reload := unit["ExecReload"]
	if len(reload) == 0 || reload[len(reload)-1] != "/bin/kill -HUP $MAINPID" {
		t.Errorf("sluice.service ExecReload=%q; want it to end with /bin/kill -HUP $MAINPID", reload)
	}
	// systemd must let the drain finish: TimeoutStopSec above the example's
	// drain-timeout.
	stop, err := time.ParseDuration(strings.Join(unit["TimeoutStopSec"], ""))
	if err != nil {
		t.Fatalf("TimeoutStopSec=%q: %v", unit["TimeoutStopSec"], err)
	}
	conf := exampleConfig(t, t.TempDir())
	cfg, err := parseFlags([]string{"--config", conf}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if stop <= cfg.drainTimeout {
		t.Errorf("TimeoutStopSec %v is not above the example's drain-timeout %v: systemd would kill the drain", stop, cfg.drainTimeout)
	}
	for _, line := range append(unit["ExecStart"], reload[:len(reload)-1]...) {
		fields := strings.Fields(line)
		if fields[0] != "/usr/local/bin/sluice" {
			t.Errorf("%q does not run /usr/local/bin/sluice", line)
			continue
		}
		args := strings.Fields(strings.ReplaceAll(strings.Join(fields[1:], " "), "/etc/sluice/sluice.conf", conf))
		if _, err := parseFlags(args, io.Discard); err != nil {
			t.Errorf("%q: %v", line, err)
		}
	}
}
