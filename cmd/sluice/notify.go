package main

import (
	"net"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// sdNotify tells systemd (Type=notify) about the service's state: READY=1
// once every listener is open, RELOADING=1 and READY=1 around a reload,
// STOPPING=1 when the drain begins. Without $NOTIFY_SOCKET it does
// nothing. Errors are ignored: systemd not listening must not stop the
// proxy.
func sdNotify(state string) {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return
	}
	// An address that starts with @ is abstract; the net package maps it.
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return
	}
	defer c.Close()
	_ = c.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = c.Write([]byte(state))
}

// sdReloading is RELOADING=1 with the CLOCK_MONOTONIC time systemd wants
// with it (Type=notify-reload requires it; Type=notify takes it).
func sdReloading() {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	usec := ts.Sec*1_000_000 + ts.Nsec/1000
	sdNotify("RELOADING=1\nMONOTONIC_USEC=" + strconv.FormatInt(usec, 10))
}
