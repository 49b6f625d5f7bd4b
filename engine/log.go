package engine

import (
	"fmt"
	"strings"

	"github.com/rs/zerolog"
)

// gnetLogger routes gnet's own log lines into zerolog.
type gnetLogger struct{ l zerolog.Logger }

func (g gnetLogger) Debugf(f string, a ...any) { g.l.Debug().Msg("gnet: " + fmt.Sprintf(f, a...)) }
func (g gnetLogger) Infof(f string, a ...any)  { g.l.Debug().Msg("gnet: " + fmt.Sprintf(f, a...)) }
func (g gnetLogger) Warnf(f string, a ...any) {
	if strings.Contains(f, "of a stale connection") {
		// An event for a conn closed earlier in the same epoll batch (a
		// tunnel's one end closing the other): gnet drops it and deletes
		// the fd from epoll, which it had done already. Nothing for an
		// operator to act on; a soak logged about 100 of them.
		g.l.Debug().Msg("gnet: " + fmt.Sprintf(f, a...))
		return
	}
	g.l.Warn().Msg("gnet: " + fmt.Sprintf(f, a...))
}
func (g gnetLogger) Errorf(f string, a ...any) { g.l.Error().Msg("gnet: " + fmt.Sprintf(f, a...)) }
func (g gnetLogger) Fatalf(f string, a ...any) { g.l.Error().Msg("gnet: " + fmt.Sprintf(f, a...)) }
