// Package padding will hold the NaïveProxy padding codec (a pure []byte
// transform between an HTTP/2 or HTTP/3 stream and the upstream). Not built yet.
package padding
