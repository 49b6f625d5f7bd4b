// Package acl decides who may open a tunnel and where it may go.
//
// It is pure policy: nothing here does network I/O or starts goroutines,
// and every type that is shared between tunnels is safe for concurrent use.
// The front ends feed it what the client wrote and what DNS answered; it
// answers with decisions and errors that map onto HTTP statuses:
//
//   - [ParseTarget] / [NormalizeTarget]: the CONNECT target in one canonical
//     form, so ACL rules cannot be sidestepped by spelling (400 on error).
//   - [Ports]: the --allow-ports list (403).
//   - [Map]: the --acl map from target to deny/allow/log (403 on deny).
//   - [Guard]: the private-address deny list applied to each resolved
//     address just before dialing (403).
//   - [Users] and [Authenticator]: --auth-file htpasswd users and the
//     Proxy-Authorization check with its cache and failure limiter (407/429).
//   - [Limiter]: per-user and per-address concurrent tunnel limits (429).
//
// The order the front ends are expected to apply them in: authenticate
// ([Authenticator.TryCheck] on the loop, [Authenticator.Check] off it on a
// miss), parse the target, check the port, [Map.Decide], resolve, then
// [Guard.Check] on every address just before it is dialed.
// [Limiter.Acquire] goes wherever its key is first known (the client
// address at accept, the user after authentication) and is released when
// the tunnel ends.
package acl
