package main

import (
	"bufio"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// authstorm sends -c wrong passwords for -auth's user at once over
// HTTP/1.1 CONNECT from one address, and meanwhile times 64-byte echoes
// through a tunnel opened before the storm (as -auth) and one login as
// -auth2 (a credential the proxy has not verified yet, so it needs a
// password check). It measures what guessing costs the proxy and what it
// does to the users it serves.
func (r *runner) authstorm() (*result, error) {
	user, pass, ok := strings.Cut(r.cfg.auth, ":")
	user2, pass2, ok2 := strings.Cut(r.cfg.auth2, ":")
	if !ok || !ok2 {
		return nil, errors.New("authstorm needs -auth user:pass and -auth2 user:pass")
	}
	open, code, err := r.stormConnect(user, pass)
	if err != nil || code != http.StatusOK {
		return nil, fmt.Errorf("the tunnel opened before the storm: %d %v", code, err)
	}
	defer open.Close()
	payload := newPayload(r.cfg.size)
	buf := make([]byte, len(payload))
	if err := echoOnce(open, payload, buf, true); err != nil {
		return nil, err
	}
	res := r.newResult()
	codes := map[int]int{}
	var mu sync.Mutex
	ph := r.beginPhase()
	var wg sync.WaitGroup
	for i := range r.cfg.conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, code, err := r.stormConnect(user, fmt.Sprint("wrong-", i))
			if c != nil {
				_ = c.Close()
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				r.fail(err)
				return
			}
			codes[code]++
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	var h histogram
	login := time.Duration(-1)
	for i := 0; ; i++ {
		select {
		case <-done:
		case <-time.After(5 * time.Millisecond):
			t0 := time.Now()
			if err := echoOnce(open, payload, buf, false); err != nil {
				r.fail(err)
			}
			h.Record(time.Since(t0))
			if i == 1 {
				t1 := time.Now()
				c, code, err := r.stormConnect(user2, pass2)
				if err == nil && code == http.StatusOK {
					login = time.Since(t1)
					_ = c.Close()
				}
			}
			continue
		}
		break
	}
	ph.end(res, time.Now())
	res.Ops = int64(r.cfg.conc)
	res.P50, res.P99, res.P999 = h.Quantile(0.5), h.Quantile(0.99), h.Quantile(1)
	res.LoginMS = float64(login.Microseconds()) / 1000
	res.Codes = codes
	r.closeErrors(res)
	res.finish()
	return res, nil
}

// stormConnect opens an HTTP/1.1 CONNECT to the origin with credentials
// and returns the status; on 200 the conn is the tunnel.
func (r *runner) stormConnect(user, pass string) (net.Conn, int, error) {
	c, err := net.DialTimeout("tcp", r.cfg.proxy, r.cfg.timeout)
	if err != nil {
		return nil, 0, err
	}
	_ = c.SetDeadline(time.Now().Add(r.cfg.timeout))
	cred := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	if _, err := fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\nProxy-Authorization: Basic %s\r\n\r\n", r.target, r.target, cred); err != nil {
		_ = c.Close()
		return nil, 0, err
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		_ = c.Close()
		return nil, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		_ = c.Close()
		return nil, resp.StatusCode, nil
	}
	_ = c.SetDeadline(time.Time{})
	return c, resp.StatusCode, nil
}
