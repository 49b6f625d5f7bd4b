package relay

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"time"

	"github.com/sluice-proxy/sluice/engine"
	"github.com/valyala/bytebufferpool"
)

// Parent is a parent proxy (--upstream-proxy; Squid's cache_peer ...
// parent, Caddy forwardproxy's upstream). With one in the Policy every TCP
// tunnel, and every forwarded request, is dialed to the parent instead of
// its target, and asks the parent with an HTTP/1.1 CONNECT for the
// target; only once the parent answers 2xx is the tunnel connected, and
// the client answered. The policy still decides on the client's target
// (ports, ACL, and the address guard on sluice's own resolution of it).
// Immutable once in use.
type Parent struct {
	Host string // a name or an IP literal (no brackets)
	Port uint16
	// TLS is set for an https:// parent: sluice speaks TLS to it,
	// verifying its certificate for Host against RootCAs (nil: the
	// system's roots).
	TLS  *tls.Config
	auth string // the Proxy-Authorization value, "" without credentials
	user string
}

// ParseParent parses an --upstream-proxy URL:
// http://[user:pass@]host[:port] or https://[user:pass@]host[:port], the
// port 80 or 443 when not given. Credentials are sent as
// Proxy-Authorization: Basic.
func ParseParent(raw string) (*Parent, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	port := uint16(80)
	switch u.Scheme {
	case "http":
	case "https":
		port = 443
	default:
		return nil, fmt.Errorf("scheme %q: want http:// or https://", u.Scheme)
	}
	if u.Opaque != "" || u.Host == "" {
		return nil, errors.New("no host: want http://[user:pass@]host:port")
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return nil, errors.New("a parent proxy URL has no path, query or fragment")
	}
	p := &Parent{Host: u.Hostname(), Port: port}
	if p.Host == "" {
		return nil, errors.New("no host: want http://[user:pass@]host:port")
	}
	if ps := u.Port(); ps != "" {
		n, err := strconv.ParseUint(ps, 10, 16)
		if err != nil || n == 0 {
			return nil, fmt.Errorf("port %q: want 1 to 65535", ps)
		}
		p.Port = uint16(n)
	}
	if ip, err := netip.ParseAddr(p.Host); err == nil {
		p.Host = ip.Unmap().String()
	}
	if u.Scheme == "https" {
		// An IP literal is verified against the certificate's IP SANs.
		p.TLS = &tls.Config{ServerName: p.Host, NextProtos: []string{"http/1.1"}, MinVersion: tls.VersionTLS12}
	}
	if u.User != nil {
		pass, _ := u.User.Password()
		p.user = u.User.Username()
		if p.user == "" {
			return nil, errors.New("credentials without a user name")
		}
		p.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(p.user+":"+pass))
	}
	return p, nil
}

// UseRoots makes an https:// parent be verified against the PEM
// certificates in pem (--upstream-proxy-ca) instead of the system's roots.
func (p *Parent) UseRoots(pem []byte) error {
	if p.TLS == nil {
		return errors.New("not an https:// parent")
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return errors.New("no PEM certificate in it")
	}
	p.TLS.RootCAs = roots
	return nil
}

// String is the parent as it may be logged: without the password.
func (p *Parent) String() string {
	s := "http://"
	if p.TLS != nil {
		s = "https://"
	}
	if p.user != "" {
		s += url.User(p.user).String() + ":xxxxx@"
	}
	return s + net.JoinHostPort(p.Host, strconv.Itoa(int(p.Port)))
}

// appendConnect appends the CONNECT request for host:port to dst.
func (p *Parent) appendConnect(dst []byte, host string, port uint16) []byte {
	hp := net.JoinHostPort(host, strconv.Itoa(int(port)))
	dst = append(dst, "CONNECT "...)
	dst = append(dst, hp...)
	dst = append(dst, " HTTP/1.1\r\nHost: "...)
	dst = append(dst, hp...)
	dst = append(dst, "\r\n"...)
	if p.auth != "" {
		dst = append(dst, "Proxy-Authorization: "...)
		dst = append(dst, p.auth...)
		dst = append(dst, "\r\n"...)
	}
	return append(dst, "\r\n"...)
}

// ParentError is a parent that would not open the tunnel: the client gets
// 502, and the access log Reason.
type ParentError struct {
	Code   int // the parent's status; 0 when it sent no head
	Reason Reason
	Err    error
}

func (e *ParentError) Error() string {
	s := "relay: parent proxy: " + string(e.Reason)
	if e.Code != 0 {
		s += ": answered " + strconv.Itoa(e.Code)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *ParentError) Unwrap() error { return e.Err }

// maxParentHead bounds the parent's answer to a CONNECT, interim heads
// included.
const maxParentHead = 16 << 10

var (
	errParentHeadLong = errors.New("answer head over 16 KiB")
	errParentClosed   = errors.New("closed before answering")
	errParentTimeout  = errors.New("no answer to CONNECT within the connect timeout")
	errParentCanceled = errors.New("canceled")
)

// parseParentHead reads the parent's answer at the start of b: the code of
// its final (non-1xx) head and the bytes its heads took. n == 0 with a nil
// error means the head is not complete yet. Only the status line matters:
// a 2xx answer to CONNECT has no body (RFC 9110 section 9.3.6), and any
// other ends the tunnel.
func parseParentHead(b []byte) (code, n int, err error) {
	for {
		rest := b[n:]
		// The status line is judged as soon as it is whole: a parent that
		// is no HTTP proxy (an SSH or SMTP banner, which never sends the
		// empty line) is refused now, not at the connect timeout.
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			if code, err = statusCode(bytes.TrimSuffix(rest[:i], []byte("\r"))); err != nil {
				return 0, 0, err
			}
		}
		end := headEnd(rest)
		if end < 0 {
			if len(b) > maxParentHead {
				return 0, 0, errParentHeadLong
			}
			return 0, 0, nil
		}
		if n+end > maxParentHead {
			return 0, 0, errParentHeadLong
		}
		n += end
		if code >= 200 || code == 101 {
			return code, n, nil
		}
	}
}

// headEnd is the length of the head at the start of b, its empty line
// included (CRLF or a bare LF), or -1 when that line has not come.
func headEnd(b []byte) int {
	for i := 0; i < len(b); {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return -1
		}
		line := b[i : i+j]
		i += j + 1
		if len(line) == 0 || len(line) == 1 && line[0] == '\r' {
			return i
		}
	}
	return -1
}

// statusCode parses "HTTP/1.x NNN reason".
func statusCode(line []byte) (int, error) {
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' ||
		len(line) > 12 && line[12] != ' ' {
		return 0, fmt.Errorf("no HTTP/1.x status line: %.40q", line)
	}
	code := 0
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("bad status code: %.40q", line)
		}
		code = code*10 + int(c-'0')
	}
	if code < 100 {
		return 0, fmt.Errorf("bad status code: %.40q", line)
	}
	return code, nil
}

// dialParent dials target through pol's parent: the target, admitted by
// the policy, is asked of the parent. With the address guard on the
// target's name is resolved here and every address must pass
// target.Check before the parent hears of it. A parent that is this
// proxy itself (pol.Self) would loop: it is refused as a target would be.
// It reports to the tunnel's upstream half as Loop.Dial does.
func (t *Tunnel) dialParent(pol *Policy, target engine.DialTarget) (cancel func()) {
	d := &parentDial{
		loop: t.loop, parent: pol.Parent, target: target, next: &t.ends[upstream],
		deadline: time.Now().Add(target.Timeout),
	}
	if self := pol.Self; self != nil {
		port := pol.Parent.Port
		d.selfCheck = func(ip netip.Addr) error {
			if self(netip.AddrPortFrom(ip, port)) {
				return ErrSelf
			}
			return nil
		}
	}
	d.start(!pol.AllowPrivate)
	return d.cancel
}

// parentDial is one tunnel's way to its target through a parent: the
// local check of the target, the dial of the parent, the CONNECT and its
// answer. It reports to next once, as a Loop.Dial would, with the parent's
// socket on a 2xx. Loop-owned.
type parentDial struct {
	loop     Loop
	parent   *Parent
	target   engine.DialTarget
	next     Dialed
	deadline time.Time
	// selfCheck refuses a parent address that is one of this proxy's
	// listeners; nil checks nothing.
	selfCheck func(netip.Addr) error

	phase     parentPhase
	reported  bool
	canceled  bool   // while dialing: the client left, the dial's answer ends it
	stopCheck func() // the local resolution, while it runs
	cancelEng func() // the dial of the parent, while it runs
	up        End
	info      engine.DialInfo
	resolve   time.Duration // the local resolution of the target
	asked     time.Time     // when the CONNECT went out
	head      *bytebufferpool.ByteBuffer
	timer     *time.Timer
}

type parentPhase uint8

const (
	parentChecking parentPhase = iota // resolving the target for the guard
	parentDialing                     // connecting to the parent
	parentAsking                      // the CONNECT is out, its answer not in
	parentDone
)

// start vets the target, then dials the parent.
func (d *parentDial) start(guard bool) {
	t := d.target
	if ip, err := netip.ParseAddr(t.Host); err == nil {
		d.vet([]netip.Addr{ip.Unmap()}, nil) // as Lookup answers a literal
		return
	}
	if !guard || t.Check == nil {
		d.dialParent()
		return
	}
	// The engine's resolver, on its workers: the one a direct dial uses.
	d.stopCheck = d.loop.Lookup(t.Host, time.Until(d.deadline), func(addrs []netip.Addr, took time.Duration, err error) {
		d.resolve = took
		d.vet(addrs, err)
	})
}

// vet checks every address of the target: the parent resolves the name
// again and may pick any of them, so one guarded address refuses it.
func (d *parentDial) vet(addrs []netip.Addr, err error) {
	if d.phase != parentChecking {
		return // canceled meanwhile
	}
	d.stopCheck = nil
	d.info.Resolve = d.resolve
	if err != nil {
		d.report(nil, err)
		return
	}
	if d.target.Check != nil {
		for _, a := range addrs {
			if cerr := d.target.Check(a); cerr != nil {
				d.info.Addr = netip.AddrPortFrom(a, d.target.Port)
				d.report(nil, &engine.DialError{Stage: engine.StageForbidden, Err: cerr})
				return
			}
		}
	}
	d.dialParent()
}

func (d *parentDial) dialParent() {
	d.phase = parentDialing
	left := time.Until(d.deadline)
	if left <= 0 {
		d.report(nil, &engine.DialError{Stage: engine.StageTimeout, Err: errParentTimeout})
		return
	}
	cancel := d.loop.Dial(engine.DialTarget{Host: d.parent.Host, Port: d.parent.Port, Timeout: left, TLS: d.parent.TLS, Check: d.selfCheck}, d)
	if d.phase == parentDialing {
		d.cancelEng = cancel
	}
}

// Dialed implements Dialed: the parent's socket, or why there is none.
func (d *parentDial) Dialed(up End, info engine.DialInfo, err error) {
	if d.phase != parentDialing {
		if up != nil {
			up.Close()
		}
		return
	}
	d.cancelEng = nil
	d.info.Addr, d.info.Connect = info.Addr, info.Connect
	d.info.Resolve += info.Resolve
	if err == nil && d.canceled { // connected as the client left: ask the parent nothing
		up.Close()
		err = &engine.DialError{Stage: engine.StageTimeout, Err: errParentCanceled}
	}
	if err != nil {
		if de := (*engine.DialError)(nil); errors.As(err, &de) && de.Stage == engine.StageTLS {
			err = &ParentError{Reason: ReasonParentTLS, Err: err}
		}
		d.report(nil, err)
		return
	}
	d.up, d.phase = up, parentAsking
	up.Bind(d)
	d.asked = time.Now()
	b := stagePool.Get()
	b.B = d.parent.appendConnect(b.B[:0], d.target.Host, d.target.Port)
	up.Write(b.B)
	stagePool.Put(b)
	left := time.Until(d.deadline)
	loop := d.loop
	d.timer = time.AfterFunc(max(left, 0), func() { loop.Exec(d.timedOut) })
}

// Data implements Events for the parent's socket while its answer comes.
func (d *parentDial) Data(p []byte) {
	if d.phase != parentAsking {
		return
	}
	b := p
	if d.head != nil {
		d.head.B = append(d.head.B, p...)
		b = d.head.B
	}
	code, n, err := parseParentHead(b)
	switch {
	case err != nil:
		d.fail(&ParentError{Reason: ReasonParentBad, Err: err})
	case n == 0:
		if d.head == nil {
			d.head = stagePool.Get()
			d.head.B = append(d.head.B[:0], p...)
		}
	case code >= 200 && code < 300:
		d.connected(b[n:])
	case code == 407:
		d.fail(&ParentError{Code: code, Reason: ReasonParentAuth})
	default:
		d.fail(&ParentError{Code: code, Reason: ReasonParentRefused})
	}
	if d.phase == parentDone {
		d.dropHead()
	}
}

// dropHead gives a partial answer's buffer back once the answer will not
// be completed; never inside Data, whose bytes may be in it.
func (d *parentDial) dropHead() {
	if d.head != nil {
		stagePool.Put(d.head)
		d.head = nil
	}
}

// connected hands the parent's socket to the tunnel as its upstream, then
// what the parent sent after its answer (the target's first bytes) as if
// read now.
func (d *parentDial) connected(rest []byte) {
	d.info.Connect += time.Since(d.asked)
	up := d.up
	d.report(up, nil)
	if len(rest) == 0 {
		return
	}
	if s := socketOf(up); s != nil && s.c != nil && s.c.Closed() {
		return
	}
	if in, ok := up.(injector); ok {
		in.inject(rest)
	}
}

// EOF implements Events: the parent closed before it answered.
func (d *parentDial) EOF() {
	if d.phase == parentAsking {
		d.fail(&ParentError{Reason: ReasonParentBad, Err: errParentClosed})
		d.dropHead()
	}
}

// Drained implements Events.
func (d *parentDial) Drained() {}

// Closed implements Events: the parent's socket is gone before it answered.
func (d *parentDial) Closed(err error) {
	if d.phase != parentAsking {
		return
	}
	d.up = nil
	d.dropHead()
	if err == nil || errors.Is(err, io.EOF) {
		d.report(nil, &ParentError{Reason: ReasonParentBad, Err: errParentClosed})
		return
	}
	d.report(nil, &engine.DialError{Stage: engine.StageConnect, Err: err})
}

func (d *parentDial) timedOut() {
	if d.phase == parentAsking {
		d.fail(&engine.DialError{Stage: engine.StageTimeout, Err: errParentTimeout})
		d.dropHead()
	}
}

// cancel abandons the way to the parent (the client left); the tunnel
// still hears, with an error.
func (d *parentDial) cancel() {
	switch d.phase {
	case parentChecking:
		if d.stopCheck != nil {
			d.stopCheck()
		}
		d.report(nil, &engine.DialError{Stage: engine.StageTimeout, Err: errParentCanceled})
	case parentDialing:
		d.canceled = true
		if d.cancelEng != nil {
			d.cancelEng() // its Dialed reports
		}
	case parentAsking:
		d.fail(&engine.DialError{Stage: engine.StageTimeout, Err: errParentCanceled})
		d.dropHead()
	}
}

// fail closes the parent's socket and reports err.
func (d *parentDial) fail(err error) {
	up := d.up
	d.up = nil
	d.report(nil, err)
	if up != nil {
		up.Close()
	}
}

// report tells the tunnel, once.
func (d *parentDial) report(up End, err error) {
	if d.reported {
		return
	}
	d.reported, d.phase = true, parentDone
	if d.timer != nil {
		d.timer.Stop()
	}
	d.next.Dialed(up, d.info, err)
}
