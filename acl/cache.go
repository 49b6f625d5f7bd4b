package acl

import (
	"net/netip"
	"sync"
)

const (
	defaultCacheSize = 4096
	cacheShards      = 16
)

// credCache remembers credentials that verified, so bcrypt (tens of
// milliseconds at cost 10) runs once per credential instead of once per
// tunnel. Keys are keyed SHA-256 digests of "user:password": the password
// itself is never stored, and the per-process key stops a memory dump
// from being checked against a precomputed table. Each shard is an LRU
// behind its own mutex, so event loops rarely contend.
type credCache struct {
	shards [cacheShards]cacheShard
}

type cacheShard struct {
	mu         sync.Mutex
	m          map[[32]byte]*cacheNode
	head, tail *cacheNode // head is most recently used
	cap        int
}

type cacheNode struct {
	key [32]byte
	// users is the snapshot that verified the credential; after a reload
	// the entry no longer counts, even if a Check that started before the
	// reload puts it back after the cache was cleared.
	users *Users
	name  string
	// from holds the last client keys the credential was used from: while
	// one of them is rate-limited for guessing, it still passes there.
	from       [4]netip.Prefix
	nfrom      uint8
	prev, next *cacheNode
}

// seen records that the credential came from client.
func (n *cacheNode) seen(client netip.Prefix) {
	if n.knows(client) {
		return
	}
	n.from[n.nfrom%uint8(len(n.from))] = client
	n.nfrom++
}

func (n *cacheNode) knows(client netip.Prefix) bool {
	for i := 0; i < min(int(n.nfrom), len(n.from)); i++ {
		if n.from[i] == client {
			return true
		}
	}
	return false
}

func newCredCache(size int) *credCache {
	if size <= 0 {
		size = defaultCacheSize
	}
	c := &credCache{}
	for i := range c.shards {
		c.shards[i].cap = max(1, (size+cacheShards-1)/cacheShards)
		c.shards[i].m = make(map[[32]byte]*cacheNode)
	}
	return c
}

// The key is already a uniform hash, so its first byte picks the shard.
func (c *credCache) shard(key *[32]byte) *cacheShard {
	return &c.shards[key[0]%cacheShards]
}

// get returns the user name cached for key under the users snapshot u,
// used now from client; with knownOnly, only if the credential was used
// from client before.
func (c *credCache) get(key *[32]byte, u *Users, client netip.Prefix, knownOnly bool) (string, bool) {
	s := c.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.m[*key]
	if n == nil {
		return "", false
	}
	if n.users != u {
		s.remove(n)
		return "", false
	}
	if knownOnly && !n.knows(client) {
		return "", false
	}
	n.seen(client)
	s.toFront(n)
	return n.name, true
}

func (c *credCache) put(key *[32]byte, u *Users, name string, client netip.Prefix) {
	s := c.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.m[*key]; n != nil {
		n.users, n.name = u, name
		n.seen(client)
		s.toFront(n)
		return
	}
	if len(s.m) >= s.cap {
		s.remove(s.tail)
	}
	n := &cacheNode{key: *key, users: u, name: name}
	n.seen(client)
	s.m[n.key] = n
	s.pushFront(n)
}

func (c *credCache) clear() {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		s.m = make(map[[32]byte]*cacheNode)
		s.head, s.tail = nil, nil
		s.mu.Unlock()
	}
}

func (s *cacheShard) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

func (s *cacheShard) pushFront(n *cacheNode) {
	n.prev, n.next = nil, s.head
	if s.head != nil {
		s.head.prev = n
	}
	s.head = n
	if s.tail == nil {
		s.tail = n
	}
}

func (s *cacheShard) unlink(n *cacheNode) {
	if n.prev != nil {
		n.prev.next = n.next
	} else {
		s.head = n.next
	}
	if n.next != nil {
		n.next.prev = n.prev
	} else {
		s.tail = n.prev
	}
	n.prev, n.next = nil, nil
}

func (s *cacheShard) toFront(n *cacheNode) {
	if s.head != n {
		s.unlink(n)
		s.pushFront(n)
	}
}

func (s *cacheShard) remove(n *cacheNode) {
	s.unlink(n)
	delete(s.m, n.key)
}
