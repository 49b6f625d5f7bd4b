package acl

import (
	"hash/maphash"
	"sync"
)

const (
	inflightShards = 16
	// maxQueued is how many more checks of one failure key may wait for
	// one of its maxInflight places before further ones are refused.
	maxQueued = 16
)

// inflight bounds the password checks under way per failure key, so one
// client cannot have more than a few of its guesses hashed at once; a few
// more wait their turn, the rest are refused.
type inflight struct {
	max    int
	seed   maphash.Seed
	shards [inflightShards]struct {
		mu sync.Mutex
		m  map[failKey]*keySlots
	}
}

type keySlots struct {
	sem   chan struct{} // one token per check running
	users int           // running and waiting; guarded by the shard's mu
}

func newInflight(max int) *inflight {
	f := &inflight{max: max, seed: maphash.MakeSeed()}
	for i := range f.shards {
		f.shards[i].m = make(map[failKey]*keySlots)
	}
	return f
}

// acquire waits for a place to check k, or fails at once when too many
// checks of k run or wait already.
func (f *inflight) acquire(k failKey) bool {
	s := &f.shards[hashAddr(f.seed, k.client.Addr())%inflightShards]
	s.mu.Lock()
	ks := s.m[k]
	if ks == nil {
		ks = &keySlots{sem: make(chan struct{}, f.max)}
		s.m[k] = ks
	}
	if ks.users >= f.max+maxQueued {
		s.mu.Unlock()
		return false
	}
	ks.users++
	s.mu.Unlock()
	ks.sem <- struct{}{}
	return true
}

func (f *inflight) release(k failKey) {
	s := &f.shards[hashAddr(f.seed, k.client.Addr())%inflightShards]
	s.mu.Lock()
	defer s.mu.Unlock()
	ks := s.m[k]
	<-ks.sem
	if ks.users--; ks.users == 0 {
		delete(s.m, k)
	}
}

// flights lets checks of one credential that overlap share one password
// check: a browser opening six connections with the same credentials costs
// one bcrypt run, and none of them is refused for being in parallel.
type flights struct {
	mu sync.Mutex
	m  map[[32]byte]*flight
}

type flight struct {
	users *Users // the snapshot the check runs against
	done  chan struct{}
	name  string
	err   error
}

// join returns the flight for key and whether the caller leads it (runs
// the check and calls land); a follower waits on done.
func (fs *flights) join(key *[32]byte, u *Users) (*flight, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if f := fs.m[*key]; f != nil && f.users == u {
		return f, false
	}
	if fs.m == nil {
		fs.m = make(map[[32]byte]*flight)
	}
	f := &flight{users: u, done: make(chan struct{})}
	fs.m[*key] = f
	return f, true
}

func (fs *flights) land(key *[32]byte, f *flight, name string, err error) {
	fs.mu.Lock()
	if fs.m[*key] == f {
		delete(fs.m, *key)
	}
	fs.mu.Unlock()
	f.name, f.err = name, err
	close(f.done)
}
