package h2

// maxWindow is the largest a flow-control window may grow
// (RFC 9113 section 6.9.1).
const maxWindow = 1<<31 - 1

// inflow is a receive window we advertise: how much the peer may still send,
// and how much credit the user has handed back that we have not announced
// yet. Announcing in batches keeps WINDOW_UPDATE traffic low; announcing only
// credit the user gave back keeps a slow upstream's memory bounded.
type inflow struct {
	avail  int64 // bytes the peer may send before it must wait
	unsent int64 // returned credit not yet sent in a WINDOW_UPDATE
}

// take charges n received bytes to the window. It reports false if the peer
// sent more than the window allowed (RFC 9113 section 6.9.1:
// FLOW_CONTROL_ERROR); the window is left alone then.
func (f *inflow) take(n uint32) bool {
	if int64(n) > f.avail {
		return false
	}
	f.avail -= int64(n)
	return true
}

// give returns n bytes of credit and reports the increment to announce now,
// or 0 while the credit is below threshold. The announced credit is added to
// avail at once: the peer may use it as soon as the frame leaves.
func (f *inflow) give(n int, threshold int64) uint32 {
	if n <= 0 {
		return 0
	}
	f.unsent += int64(n)
	if f.unsent < threshold {
		return 0
	}
	inc := f.unsent
	if f.avail+inc > maxWindow {
		// Never grow past what the protocol allows; keep the rest for later.
		inc = maxWindow - f.avail
	}
	f.unsent -= inc
	f.avail += inc
	return uint32(inc)
}

// outflow is a send window the peer granted us. It may go negative when the
// peer lowers SETTINGS_INITIAL_WINDOW_SIZE (RFC 9113 section 6.9.2).
type outflow struct {
	avail int64
}

// add grows the window by n and reports false if that would pass 2^31-1,
// which RFC 9113 section 6.9.1 makes a FLOW_CONTROL_ERROR.
func (f *outflow) add(n int64) bool {
	if f.avail+n > maxWindow {
		return false
	}
	f.avail += n
	return true
}
