package main

// Helpers for the operations tests (takeover, log reopening): a whole
// tunnel as a new client makes one, and a bounded wait for a condition.

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

// probeOnce opens a tunnel through addr to target and echoes 1 KiB.
func probeOnce(addr, target string, useTLS bool) error {
	raw, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer raw.Close()
	_ = raw.SetDeadline(time.Now().Add(5 * time.Second))
	c := raw
	if useTLS {
		tc := tls.Client(raw, &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"})
		if err := tc.Handshake(); err != nil {
			return fmt.Errorf("TLS handshake: %w", err)
		}
		c = tc
	}
	if _, err := io.WriteString(c, connectReq(target)); err != nil {
		return fmt.Errorf("write CONNECT: %w", err)
	}
	head := make([]byte, len(established))
	if n, err := io.ReadFull(c, head); err != nil {
		return fmt.Errorf("CONNECT answer %q: %w", head[:n], err)
	} else if string(head) != established {
		return fmt.Errorf("CONNECT answer %q", head)
	}
	msg := make([]byte, 1024)
	for i := range msg {
		msg[i] = byte(i)
	}
	if _, err := c.Write(msg); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		return fmt.Errorf("echo: %w", err)
	} else if string(got) != string(msg) {
		return errors.New("echo: other bytes came back")
	}
	return nil
}

// waitFor polls cond (bounded by waitLimit).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", waitLimit, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
