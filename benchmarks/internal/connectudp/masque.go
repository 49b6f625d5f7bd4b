package connectudp

import "github.com/quic-go/masque-go"

// Masque sends and receives a flow's datagrams on masque-go's Conn (QUIC
// DATAGRAM frames, context ID 0). It never sets a read deadline: in
// masque-go v0.6.0, once one has expired every later read fails at once
// (the expired context is kept), so a reader blocks in Recv until the
// Conn is closed and the tools time datagrams out themselves.
type Masque struct {
	Conn *masque.Conn
}

// Send sends one datagram.
func (m Masque) Send(p []byte) error { _, err := m.Conn.WriteTo(p, nil); return err }

// Recv waits for the next datagram and returns it in b, truncated to
// len(b) as a UDP socket would.
func (m Masque) Recv(b []byte) ([]byte, error) {
	n, _, err := m.Conn.ReadFrom(b)
	if err != nil {
		return nil, err
	}
	return b[:n], nil
}
