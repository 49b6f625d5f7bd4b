package main

import (
	"os"
	"sync"
)

// reopenFile is the --access-log file under the access logger: every
// tunnel's loop writes its record through it (one Write per line, as
// zerolog does), and Reopen swaps the file under them for logrotate
// (SIGUSR1). The read lock makes a Write and the swap exclusive, so a
// line goes whole to the old file or whole to the new one, and the old
// file is closed only once no Write is in it.
type reopenFile struct {
	path string
	mu   sync.RWMutex
	f    *os.File // nil once closed
}

func openAccessFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
}

func openReopenFile(path string) (*reopenFile, error) {
	f, err := openAccessFile(path)
	if err != nil {
		return nil, err
	}
	return &reopenFile{path: path, f: f}, nil
}

func (r *reopenFile) Write(p []byte) (int, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.f == nil {
		return 0, os.ErrClosed
	}
	return r.f.Write(p)
}

// Reopen opens the path again (creating it, as logrotate's move left no
// file there) and closes the old file. If the path cannot be opened the
// old file stays in use and the error says why.
func (r *reopenFile) Reopen() error {
	nf, err := openAccessFile(r.path)
	if err != nil {
		return err
	}
	r.mu.Lock()
	old := r.f
	if old != nil {
		r.f = nf
	}
	r.mu.Unlock()
	if old == nil { // closed meanwhile: the shutdown won
		_ = nf.Close()
		return os.ErrClosed
	}
	return old.Close()
}

func (r *reopenFile) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return os.ErrClosed
	}
	err := r.f.Close()
	r.f = nil
	return err
}

// reopenAccessLog is SIGUSR1: the --access-log file is opened again, for
// logrotate's postrotate. Lines being written go whole to the old file or
// the new one.
func (s *server) reopenAccessLog() {
	if s.accessFile == nil {
		s.log.Info().Str("access_log", s.cfg.accessLog).Msg("access log reopen: not a file, nothing to reopen")
		return
	}
	if err := s.accessFile.Reopen(); err != nil {
		s.log.Error().Err(err).Str("file", s.accessFile.path).Msg("access log reopen failed; still writing to the old file")
		return
	}
	s.log.Info().Str("file", s.accessFile.path).Msg("access log reopened")
}
