package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/sluice-proxy/sluice/engine"
)

// liveSettings are the settings a reload applies to the running server.
// Any other one that changed needs a restart (or a --takeover); a reload
// says so and keeps the running value.
var liveSettings = map[string]bool{
	"acl": true, "auth-file": true, "cert": true, "key": true,
	"max-tunnels-per-user": true, "max-tunnels-per-ip": true,
}

// reload is SIGHUP: it parses the command line and the --config file again
// and re-reads the files they name (--acl, --auth-file, --cert and --key),
// then applies what changed of those and of the tunnel limits, all of it or
// (when anything is broken) none of it, and logs one line that says what
// changed. Open tunnels are not touched. Only the signal loop calls it.
func (s *server) reload() {
	next, err := parseFlags(s.cfg.args, io.Discard)
	if err != nil {
		s.log.Error().Err(err).Str("file", s.cfg.configFile).Msg("config file reload failed; keeping the running configuration")
		return
	}
	var (
		changed []string // settings, for the log line's field
		says    []string // what changed, for its message
		restart []string
		apply   []func()
		failed  bool
	)
	change := func(setting, what string, f func()) {
		changed = append(changed, setting)
		says = append(says, what)
		apply = append(apply, f)
	}
	fail := func(what, file string, err error) {
		failed = true
		s.log.Error().Err(err).Str("file", file).Msg(what + " reload failed; keeping the running configuration")
	}
	for name, v := range next.values {
		if !liveSettings[name] && s.cfg.values[name] != v {
			restart = append(restart, name)
		}
	}

	switch {
	case next.aclFile != "":
		m, sum, err := loadACL(next.aclFile)
		switch {
		case err != nil:
			fail("acl", next.aclFile, err)
		case next.aclFile != s.cfg.aclFile || sum != s.sums["acl"]:
			change("acl", fmt.Sprintf("acl reloaded (%d rules)", m.Len()), func() { s.policy.ACL.Store(m); s.sums["acl"] = sum })
		}
	case s.cfg.aclFile != "":
		change("acl", "acl off", func() { s.policy.ACL.Store(nil); delete(s.sums, "acl") })
	}

	switch {
	case (next.authFile == "") != (s.cfg.authFile == ""):
		// The gate's authenticator is fixed at start.
		restart = append(restart, "auth-file (authentication on or off)")
		next.authFile, next.values["auth-file"] = s.cfg.authFile, s.cfg.values["auth-file"]
	case next.authFile != "":
		u, sum, err := loadUsers(next.authFile)
		switch {
		case err != nil:
			fail("auth file", next.authFile, err)
		case next.authFile != s.cfg.authFile || sum != s.sums["auth-file"]:
			change("auth-file", fmt.Sprintf("auth file reloaded (%d users)", u.Len()), func() { s.policy.Gate.Auth.SetUsers(u); s.sums["auth-file"] = sum })
		}
	}

	switch {
	case next.cert != "":
		cert, sum, err := loadCertPair(next.cert, next.key)
		switch {
		case err != nil:
			fail("certificate", next.cert, err)
		case next.cert != s.cfg.cert || next.key != s.cfg.key || sum != s.sums["cert"]:
			what := "certificate reloaded"
			if cert.Leaf != nil {
				what += " (valid until " + cert.Leaf.NotAfter.UTC().Format(time.DateOnly) + ")"
			}
			change("cert", what, func() { s.cert.Store(cert); s.sums["cert"] = sum })
		}
	case s.cfg.cert != "":
		cert, err := engine.SelfSignedCert()
		if err != nil {
			fail("certificate", "", err)
			break
		}
		change("cert", "certificate: a generated self-signed one (no --cert)", func() { s.cert.Store(&cert); delete(s.sums, "cert") })
	}

	gate := s.policy.Gate
	limit := func(name string, old, cur int, l interface{ SetMax(int) }) {
		if max(old, 0) == max(cur, 0) {
			return
		}
		what := fmt.Sprintf("%s %d -> %d", name, max(old, 0), max(cur, 0))
		if old <= 0 {
			what += " (tunnels open before are not counted)"
		}
		change(name, what, func() { l.SetMax(cur) })
	}
	limit("max-tunnels-per-user", s.cfg.perUser, next.perUser, gate.PerUser)
	limit("max-tunnels-per-ip", s.cfg.perIP, next.perIP, gate.PerIP)

	if failed {
		return
	}
	for _, f := range apply {
		f()
	}
	s.cfg.aclFile, s.cfg.authFile = next.aclFile, next.authFile
	s.cfg.cert, s.cfg.key = next.cert, next.key
	s.cfg.perUser, s.cfg.perIP = next.perUser, next.perIP
	for name := range liveSettings {
		s.cfg.values[name] = next.values[name]
	}

	sort.Strings(restart)
	msg := "reload: unchanged"
	if len(says) > 0 {
		msg = "reload: " + strings.Join(says, "; ")
	}
	ev := s.log.Info()
	if len(restart) > 0 {
		msg += "; changed but not applied, needs a restart: " + strings.Join(restart, ", ")
		ev = s.log.Warn().Strs("needs_restart", restart)
	}
	ev.Strs("changed", changed).Msg(msg)
}
