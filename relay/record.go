package relay

import (
	"net/netip"
	"time"

	"github.com/rs/zerolog"
)

// Record is what the access log says about one tunnel, or about a proxy
// request that got none. The front end says who and what; the relay fills
// in how it went.
type Record struct {
	Start     time.Time
	Client    netip.AddrPort
	User      string // after authentication only; never a password
	Method    string // CONNECT, or a forwarded request's method
	Target    string // as the client wrote it
	Resolved  netip.AddrPort
	ACLRule   string // the ACL pattern, for lines with values 2 and 3
	Status    int
	Resolve   time.Duration
	Connect   time.Duration // 0 for an upstream taken from a pool (Reused)
	FirstByte time.Duration // from the 200 to the first upstream byte
	Up, Down  int64         // bytes client->upstream, upstream->client
	// DatagramsUp and DatagramsDown count the datagrams of a UDP tunnel
	// each way; Dropped those it could not deliver.
	DatagramsUp, DatagramsDown, Dropped int64
	Reason                              Reason
	ACL                                 int8 // the ACL value that decided (0-3), -1 without an ACL
	Proto                               Proto
	Kind                                Kind
	Spliced                             bool // the tunnel finished on splice(2), off the event loop
	Reused                              bool // the upstream was an idle kept-alive connection, not dialed
	Site                                bool // the client was answered by the web site (probe resistance), not with Status
}

// Proto is the protocol a client spoke to the proxy.
type Proto uint8

const (
	ProtoH1 Proto = iota + 1
	ProtoH2
	ProtoH3
	ProtoSNI
)

var protoNames = [...]string{"", "h1", "h2", "h3", "sni"}

func (p Proto) String() string {
	if int(p) < len(protoNames) {
		return protoNames[p]
	}
	return "unknown"
}

// Kind is what a tunnel carries: a byte stream (TCP) or datagrams (UDP).
type Kind uint8

const (
	KindTCP Kind = iota
	KindUDP
)

func (k Kind) String() string {
	if k == KindUDP {
		return "udp"
	}
	return "tcp"
}

// Write emits the record as one JSON line.
func (r *Record) Write(l *zerolog.Logger) {
	if l == nil {
		return
	}
	ev := l.Log().
		Time("time", r.Start).
		Str("client", r.Client.String()).
		Str("user", r.User).
		Str("proto", r.Proto.String()).
		Str("kind", r.Kind.String()).
		Str("method", r.Method).
		Str("target", r.Target)
	if r.Resolved.IsValid() {
		ev = ev.Str("resolved", r.Resolved.String())
	} else {
		ev = ev.Str("resolved", "-")
	}
	if r.Spliced {
		ev = ev.Bool("spliced", true)
	}
	if r.Reused {
		ev = ev.Bool("reused", true)
	}
	if r.Kind == KindUDP {
		ev = ev.Int64("datagrams_up", r.DatagramsUp).Int64("datagrams_down", r.DatagramsDown).Int64("dropped", r.Dropped)
	}
	if r.Site {
		ev = ev.Bool("site", true)
	}
	if r.ACLRule != "" {
		ev = ev.Str("acl_rule", r.ACLRule)
	}
	ev.Int("acl", int(r.ACL)).
		Int("status", r.Status).
		Float64("resolve_ms", ms(r.Resolve)).
		Float64("connect_ms", ms(r.Connect)).
		Float64("first_byte_ms", ms(r.FirstByte)).
		Int64("bytes_up", r.Up).
		Int64("bytes_down", r.Down).
		Float64("duration_ms", ms(time.Since(r.Start))).
		Str("reason", string(r.Reason)).
		Send()
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
