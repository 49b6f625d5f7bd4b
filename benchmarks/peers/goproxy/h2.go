package main

import (
	"io"
	"net"
	"net/http"
)

// tunnelH2 relays an HTTP/2 or HTTP/3 CONNECT stream: the request body
// goes up, the upstream's bytes go down as DATA frames, flushed after every
// write so that small round trips are not held back. The end of the
// request body (END_STREAM, or the stream's FIN) becomes a half-close to
// the upstream.
func tunnelH2(w http.ResponseWriter, r *http.Request, up *net.TCPConn) {
	defer up.Close()
	rc := http.NewResponseController(w)
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		return
	}
	go func() {
		if _, err := io.Copy(up, r.Body); err == nil {
			up.CloseWrite()
		} else {
			up.Close()
		}
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := up.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			if rc.Flush() != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
