package relay

import (
	"time"

	"github.com/rs/zerolog"
)

// Config is shared by every tunnel of a server; immutable once in use.
// Zero values take the defaults noted.
type Config struct {
	High    int // per-direction high watermark: above it the source is not read; default 1 MiB
	Low     int // reading resumes at or below it; default High/4
	HardCap int // a direction buffered past this means both ends stopped reading: the tunnel ends; default 8×High
	// IdleTimeout ends a tunnel with no bytes either way for this long;
	// 0: never.
	IdleTimeout time.Duration
	AccessLog   *zerolog.Logger // nil: no access log
	// SpliceAfter moves a tunnel between two plain TCP sockets to
	// splice(2) once it has carried this many bytes (0: never); Splices
	// caps how many at once.
	SpliceAfter int64
	Splices     *Splices
	// OnEnd, if set, runs after each tunnel's access-log line, on its
	// loop (or on a splice's goroutine when the loop is gone).
	OnEnd func(t *Tunnel)
	// UDPIdleTimeout ends a connect-udp flow with no datagram either way
	// for this long; default 2 minutes.
	UDPIdleTimeout time.Duration
	// MaxDatagram is the largest UDP payload relayed; a larger one is
	// dropped and counted. Default 1472 (1500, less IPv4 and UDP headers).
	MaxDatagram int
}

// DefaultMaxDatagram is the largest datagram of a zero Config.
const DefaultMaxDatagram = 1500 - 20 - 8

func (c *Config) maxDatagram() int {
	if c.MaxDatagram > 0 {
		return c.MaxDatagram
	}
	return DefaultMaxDatagram
}

func (c *Config) idleTimeout(k Kind) time.Duration {
	if k != KindUDP {
		return c.IdleTimeout
	}
	if c.UDPIdleTimeout > 0 {
		return c.UDPIdleTimeout
	}
	return 2 * time.Minute
}

// DefaultHigh is the high watermark of a zero Config.
const DefaultHigh = 1 << 20

func (c *Config) high() int {
	if c.High > 0 {
		return c.High
	}
	return DefaultHigh
}

func (c *Config) low() int {
	if c.Low > 0 {
		return c.Low
	}
	return c.high() / 4
}

func (c *Config) hardCap() int {
	if c.HardCap > 0 {
		return c.HardCap
	}
	return 8 * c.high()
}

// Limits returns High, Low and HardCap with their defaults applied, for a
// front end that bounds what it queues itself.
func (c *Config) Limits() (high, low, hardCap int) { return c.high(), c.low(), c.hardCap() }
