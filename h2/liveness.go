package h2

// Liveness: the connection-level checks that find a peer that went away
// without a word. The ServerConn keeps the state; its driver's clock
// decides when to ask (Ping, TimedOut).

// Ping sends a PING the peer must echo (RFC 9113 section 6.7), unless one
// is already out. PingOutstanding reports it until the ACK comes.
func (c *ServerConn) Ping() {
	if c.failed || c.pingOut {
		return
	}
	c.pingOut = true
	c.pingSeq++
	c.out = AppendPing(c.out, false, c.pingData())
}

// PingOutstanding reports whether a PING from Ping has no ACK yet.
func (c *ServerConn) PingOutstanding() bool { return c.pingOut }

func (c *ServerConn) pingData() [8]byte {
	var d [8]byte
	for i := range d {
		d[i] = byte(c.pingSeq >> (8 * (7 - i)))
	}
	return d
}

// onPingAck clears the outstanding PING if the ACK echoes it.
func (c *ServerConn) onPingAck(data [8]byte) {
	if c.pingOut && data == c.pingData() {
		c.pingOut = false
	}
}

// TimedOut fails the connection because the peer did not answer in time:
// SETTINGS_TIMEOUT when our SETTINGS was never acknowledged (RFC 9113
// section 6.5.3), NO_ERROR with "ping timeout" for a missing PING ACK.
// Under ProfileGo a client that sent no SETTINGS is dropped without a
// GOAWAY, as Go's server drops it.
func (c *ServerConn) TimedOut() {
	if c.goProfile() && !c.sawSettings {
		// Go's server hangs up on a client that never sent SETTINGS.
		c.hangUp(ConnError{Code: ErrCodeSettingsTimeout, Reason: "no SETTINGS from the client"}, ErrCodeCancel)
		return
	}
	if !c.settingsAcked {
		_ = c.fail(connError(ErrCodeSettingsTimeout, "SETTINGS not acknowledged"))
		return
	}
	_ = c.fail(connError(ErrCodeNo, "ping timeout"))
}

// settingsDone reports whether the SETTINGS wait is over: the client's
// ACK of ours, or under ProfileGo (which waits for no ACK) its own first
// SETTINGS.
func (c *ServerConn) settingsDone() bool {
	if c.goProfile() {
		return c.sawSettings
	}
	return c.settingsAcked
}
