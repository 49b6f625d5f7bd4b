// Package engine is sluice's reactor: the only package that imports gnet.
//
// It owns the listeners (an accept loop of its own, so that EMFILE never stops
// the process, and an address already in use is an error unless
// Config.Takeover), the gnet event loops ([Loop]: pick one, run a task on it,
// dial from it, arm an [Idle] timer on it), TLS (handshake off-loop, records
// on the loop, close_notify as a half-close), the upstream dialer (resolve,
// check every address, connect off-loop, enroll the socket on the loop it
// was dialed from) and the flow-control primitives gnet does not have:
// PauseRead/ResumeRead, drain notification, half-close and
// close-after-flush. Shutdown is Drain (stop accepting, tell handlers, wait,
// then cut with [ErrShutdown]) and Stop.
//
// Every Conn belongs to one event loop. Its methods are loop-only unless a
// comment says otherwise; the only way in from another goroutine is
// Conn.Exec or Loop.Exec. Bytes handed to Handler.OnData are borrowed for
// that call.
package engine
