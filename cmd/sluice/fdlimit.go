package main

import (
	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"
)

// fdsPerTunnel is what a plain HTTP/1.1 tunnel holds: the client socket
// and the upstream socket (a spliced tunnel holds two pipes more while it
// lasts; a client's FIN swaps its socket for a dup, for a moment one more).
const fdsPerTunnel = 2

// logFDLimit says at start how many files sluice may open, and warns when
// that is few for an edge proxy or for --max-conns (2 fds a connection). sluice does not size
// itself to it: past the limit, accepts back off and dials get 503
// (no_fds) until fds free up. (Go raises the soft limit to the hard one
// at start, so the hard limit is what counts: LimitNOFILE in systemd.)
func logFDLimit(log zerolog.Logger, maxConns int) {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return
	}
	ev := log.Info()
	msg := "file descriptor limit"
	switch {
	case maxConns > 0 && uint64(maxConns)*fdsPerTunnel > lim.Cur:
		ev = log.Warn().Int("max_conns", maxConns)
		msg = "file descriptor limit below what --max-conns needs (2 per HTTP/1.1 tunnel): raise LimitNOFILE / ulimit -n or lower --max-conns"
	case lim.Cur < 65536:
		ev = log.Warn()
		msg = "file descriptor limit is low for an edge proxy (2 per HTTP/1.1 tunnel): raise LimitNOFILE / ulimit -n"
	}
	ev.Uint64("nofile", lim.Cur).Uint64("nofile_max", lim.Max).Msg(msg)
}
