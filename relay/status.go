package relay

import (
	"errors"

	"github.com/sluice-proxy/sluice/engine"
)

// Status maps a failed tunnel setup to the HTTP status every front end
// answers with (design.md, wire behaviour).
func Status(err error) int {
	var de *engine.DialError
	if errors.As(err, &de) {
		switch de.Stage {
		case engine.StageForbidden:
			return 403
		case engine.StageTimeout:
			return 504
		default:
			return 502
		}
	}
	return 502
}
