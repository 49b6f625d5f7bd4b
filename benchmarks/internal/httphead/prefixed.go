package httphead

import "net"

// Prefixed is a connection whose first bytes came in along with the
// response head (the rest that Read returns): its Read delivers them
// before it reads from the connection again.
type Prefixed struct {
	net.Conn
	Rest []byte
}

func (p *Prefixed) Read(b []byte) (int, error) {
	if len(p.Rest) > 0 {
		n := copy(b, p.Rest)
		p.Rest = p.Rest[n:]
		return n, nil
	}
	return p.Conn.Read(b)
}
