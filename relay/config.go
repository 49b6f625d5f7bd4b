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
