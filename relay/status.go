package relay

import (
	"errors"
	"syscall"

	"github.com/sluice-proxy/sluice/engine"
)

// Status maps a failed tunnel setup to the HTTP status every front end
// answers with: 403 for a guarded address, 504 for a timeout, 503 when the
// proxy ran out of file descriptors (that request only), else 502 (a
// parent proxy's refusal too).
func Status(err error) int {
	switch DialReason(err) {
	case ReasonPrivate, ReasonSelf:
		return 403
	case ReasonConnectTimeout:
		return 504
	case ReasonNoFDs:
		return 503
	}
	return 502
}

// DialReason says which part of a dial failed, for the access log.
func DialReason(err error) Reason {
	var pe *ParentError
	if errors.As(err, &pe) {
		return pe.Reason
	}
	var de *engine.DialError
	if !errors.As(err, &de) {
		return ReasonConnectFailed
	}
	switch de.Stage {
	case engine.StageResolve:
		return ReasonDNS
	case engine.StageForbidden:
		if errors.Is(err, ErrSelf) {
			return ReasonSelf
		}
		return ReasonPrivate
	case engine.StageTimeout:
		return ReasonConnectTimeout
	}
	if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
		return ReasonNoFDs
	}
	return ReasonConnectFailed
}
