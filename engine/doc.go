// Package engine is sluice's reactor: the only package that imports gnet.
//
// It owns the listeners (an accept loop of its own, so that EMFILE never stops
// the process), the gnet event loops, TLS (handshake off-loop, records on the
// loop), the upstream dialer (resolve, check every address, dial off-loop,
// enroll the socket on the client's loop) and the flow-control primitives
// gnet does not have: PauseRead/ResumeRead, drain notification, half-close
// and close-after-flush.
//
// Every Conn belongs to one event loop. Its methods are loop-only unless a
// comment says otherwise; the only way in from another goroutine is
// Conn.Exec. Bytes handed to Handler.OnData are borrowed for that call.
package engine
