package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestE2EAuthGuessStormIsBounded: 200 wrong passwords sent at once from one
// address cost at most the failure budget in password checks (a check
// counts against the budget when it starts, and few of one client's run at
// once), every one gets 407, 429 or 503, and meanwhile a tunnel opened
// before the storm keeps echoing and another user logs in.
func TestE2EAuthGuessStormIsBounded(t *testing.T) {
	t.Parallel()
	echo := startEcho(t)
	target := echo.addr()
	authPath := filepath.Join(t.TempDir(), "users.htpasswd")
	writeFileAtomic(t, authPath, bcryptLine(t, "bob", "bob-pw", "$2y$")+"\n"+bcryptLine(t, "carol", "carol-pw", "$2y$")+"\n")
	p := startOpenProxy(t, "--auth-file", authPath)
	const src = "127.0.0.31"
	open := tunnelAs(t, p, false, "127.0.0.32", target, "bob", "bob-pw")
	defer open.Close()
	before := p.s.policy.Gate.Auth.HashChecks()

	var wg sync.WaitGroup
	codes := make(chan int, 200)
	start := make(chan struct{})
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := dialLocal(p.plain, src)
			if err != nil {
				codes <- -1
				return
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(2 * waitLimit))
			<-start
			fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n%s\r\n", target, target, authHeader("bob", fmt.Sprint("guess-", i)))
			head := make([]byte, 12)
			if _, err := io.ReadFull(c, head); err != nil {
				codes <- -2
				return
			}
			var code int
			fmt.Sscanf(strings.TrimPrefix(string(head), "HTTP/1.1 "), "%d", &code)
			codes <- code
		}()
	}
	close(start)
	// The storm does not stall the loops: the open tunnel keeps moving
	// bytes and an unrelated login goes through while it lasts.
	for i := 0; i < 5; i++ {
		echoOnce(t, open, fmt.Sprint("during the storm ", i))
	}
	c := tunnelAs(t, p, true, "127.0.0.33", target, "carol", "carol-pw")
	_ = c.Close()
	wg.Wait()
	close(codes)
	seen := map[int]int{}
	for code := range codes {
		seen[code]++
	}
	for code, n := range seen {
		if code != http.StatusProxyAuthRequired && code != http.StatusTooManyRequests && code != http.StatusServiceUnavailable {
			t.Errorf("%d guesses answered %d; want 407, 429 or 503 only (all: %v)", n, code, seen)
		}
	}
	checks := p.s.policy.Gate.Auth.HashChecks() - before
	if checks > 10+1 { // the budget, and carol's login
		t.Errorf("200 parallel guesses cost %d password checks; want at most the budget (10) plus carol's one", checks)
	}
	if seen[http.StatusProxyAuthRequired] > 10 {
		t.Errorf("%d guesses were checked and refused with 407; want at most the budget, 10", seen[http.StatusProxyAuthRequired])
	}
}

// dialLocal opens a TCP conn to addr from the loopback address src.
func dialLocal(addr, src string) (net.Conn, error) {
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	return d.Dial("tcp", addr)
}
