package main

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// bulkChunk is the size of each read and write: large enough that the
// client's per-call overhead does not cap the rate.
const bulkChunk = 256 << 10

// bulk measures throughput: -c tunnels are opened (not timed), then each
// moves -bytes up to the sink, down from the source, or both ways through
// the echo, bounded by -duration. MB/s and CPU per GB count payload bytes
// in both directions.
func (r *runner) bulk() (*result, error) {
	res := r.newResult()
	res.Dir, res.Bytes = r.cfg.dir, r.cfg.bytes
	if r.cfg.dir != "up" && r.cfg.dir != "down" && r.cfg.dir != "both" {
		return nil, fmt.Errorf("unknown -dir %q", r.cfg.dir)
	}
	tuns := r.openMany(r.cfg.conc, false)
	defer closeAll(tuns)
	if countOpen(tuns) == 0 {
		r.closeErrors(res)
		return res, errors.New("no tunnel opened: " + r.firstErr)
	}

	var moved, done atomic.Int64
	ph := r.beginPhase()
	deadline := ph.start.Add(r.cfg.duration)
	var wg sync.WaitGroup
	for _, t := range tuns {
		if t == nil {
			continue
		}
		wg.Add(1)
		go func(t tunnel) {
			defer wg.Done()
			t.SetDeadline(deadline)
			var err error
			switch r.cfg.dir {
			case "up":
				err = upload(t, r.cfg.bytes, &moved)
			case "down":
				err = download(t, r.cfg.bytes, &moved, true)
			case "both":
				err = both(t, r.cfg.bytes, &moved)
			}
			if err != nil {
				r.fail(err)
				return
			}
			done.Add(1)
		}(t)
	}
	wg.Wait()
	ph.end(res, time.Now())
	res.Ops = done.Load()
	res.Moved = moved.Load()
	r.closeErrors(res)
	res.finish()
	return res, nil
}

// upload sends n bytes to the sink and waits for its one-byte ack.
func upload(t tunnel, n int64, moved *atomic.Int64) error {
	if _, err := io.WriteString(t, sinkPreamble(n)); err != nil {
		return err
	}
	if err := writeN(t, n, moved); err != nil {
		return err
	}
	var ack [1]byte
	if _, err := io.ReadFull(t, ack[:]); err != nil {
		return fmt.Errorf("sink ack: %w", err)
	}
	switch ack[0] {
	case sinkAck:
	case sinkBad:
		return errors.New("upload: the origin received corrupted data")
	default:
		return errors.New("sink ack: wrong byte")
	}
	return nil
}

// download asks the source for n bytes (when ask is set), reads them and
// checks them against the pattern.
func download(t tunnel, n int64, moved *atomic.Int64, ask bool) error {
	if ask {
		if _, err := io.WriteString(t, sourcePreamble(n)); err != nil {
			return err
		}
	}
	buf := make([]byte, bulkChunk)
	var off int64
	for off < n {
		chunk := buf
		if rest := n - off; rest < int64(len(chunk)) {
			chunk = chunk[:rest]
		}
		got, err := t.Read(chunk)
		if got > 0 && !patOK(off, chunk[:got]) {
			return fmt.Errorf("download: corrupted data near offset %d", off)
		}
		off += int64(got)
		moved.Add(int64(got))
		if err != nil && off < n {
			return fmt.Errorf("download: %d bytes short: %w", n-off, err)
		}
	}
	return nil
}

// both writes n bytes through the echo while reading them back.
func both(t tunnel, n int64, moved *atomic.Int64) error {
	if _, err := io.WriteString(t, preambleEcho); err != nil {
		return err
	}
	werr := make(chan error, 1)
	go func() { werr <- writeN(t, n, moved) }()
	rerr := download(t, n, moved, false)
	if err := <-werr; err != nil {
		return err
	}
	return rerr
}

// writeN writes n pattern bytes.
func writeN(t tunnel, n int64, moved *atomic.Int64) error {
	var off int64
	for off < n {
		chunk := int64(bulkChunk)
		if rest := n - off; rest < chunk {
			chunk = rest
		}
		w, err := t.Write(patAt(off, int(chunk)))
		off += int64(w)
		moved.Add(int64(w))
		if err != nil {
			return fmt.Errorf("upload: %d bytes short: %w", n-off, err)
		}
	}
	return nil
}
