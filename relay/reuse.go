package relay

// Release ends t as done while both its ends stay open: the exchange it
// carried (one forwarded request and its response) is complete and the
// front end takes both connections back, the client's for its next
// request and the origin's, maybe, for a pool. The access-log line is
// written and the gate's slots are given back as for any end; later
// events of the ends are ignored, so the front end must bind them anew.
// It reports false, doing nothing, unless t is open.
func (t *Tunnel) Release() bool {
	if t.state != open {
		return false
	}
	for i := range t.ends {
		t.ends[i].done = true
	}
	t.setReason(ReasonDone, false)
	t.finish()
	return true
}
