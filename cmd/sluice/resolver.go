package main

import (
	"context"
	"net"
	"time"
)

// newResolver is the resolver every dial uses, asking addr (--resolver;
// "" = the name servers Go reads from /etc/resolv.conf), with every query
// bounded by timeout (--connect-timeout). Go runs a lookup detached from
// the dial that asked for it, since other dials may share it, and bounds
// a query by resolv.conf's timeout, 5 s by default: a dial that gave up at
// a shorter connect timeout left its queries' sockets waiting that long
// on a name server that never answers.
func newResolver(addr string, timeout time.Duration) *net.Resolver {
	return &net.Resolver{
		PreferGo: addr != "", // else Go chooses, as net.DefaultResolver; Dial bounds its own queries only
		Dial: func(ctx context.Context, network, server string) (net.Conn, error) {
			if addr != "" {
				server = addr
			}
			d := net.Dialer{Timeout: timeout}
			c, err := d.DialContext(ctx, network, server)
			if err != nil {
				return nil, err
			}
			until := time.Now().Add(timeout)
			_ = c.SetDeadline(until)
			// Go's resolver tells UDP from TCP by net.PacketConn: keep it.
			if uc, ok := c.(*net.UDPConn); ok {
				return &boundedUDP{UDPConn: uc, until: until}, nil
			}
			return &boundedConn{Conn: c, until: until}, nil
		},
	}
}

// boundedConn and boundedUDP take no deadline past until.
type boundedConn struct {
	net.Conn
	until time.Time
}

type boundedUDP struct {
	*net.UDPConn
	until time.Time
}

func (c *boundedConn) SetDeadline(t time.Time) error { return c.Conn.SetDeadline(earliest(t, c.until)) }
func (c *boundedUDP) SetDeadline(t time.Time) error {
	return c.UDPConn.SetDeadline(earliest(t, c.until))
}

// earliest is t, or until if t is later or zero (no deadline).
func earliest(t, until time.Time) time.Time {
	if t.IsZero() || t.After(until) {
		return until
	}
	return t
}
