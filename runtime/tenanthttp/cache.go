package tenanthttp

import (
	"container/list"
	"sync"
	"time"

	"github.com/tenantgen/tenantgen/runtime"
)

// domainCache holds DomainLookup answers, found or not, for a fixed TTL and up
// to a fixed number of entries.
//
// Entries are kept in insertion order, which with one TTL for all is expiry
// order: expired entries are dropped from the front as new ones come in, and
// when the cache is still full the entry dropped is the one closest to
// expiring anyway. Hits change nothing, so they share a read lock. (An LRU
// would keep hot domains through a flood of unknown hosts a little better,
// at the price of a write lock per hit; a hot domain evicted costs one
// lookup.)
//
// gen counts invalidations. A lookup records the generation it started in and
// its answer is stored only if no invalidation happened meanwhile, so an
// answer read before a domain change cannot outlive Invalidate.
type domainCache struct {
	ttl        time.Duration
	maxEntries int

	mu      sync.RWMutex
	gen     uint64
	entries map[string]*list.Element // values are *cacheEntry
	order   list.List                // front expires first
}

type cacheEntry struct {
	domain string
	tenant runtime.Tenant
	found  bool
	// suspended: found, but the tenant is suspended.
	suspended bool
	expires   time.Time
}

func newDomainCache(ttl time.Duration, maxEntries int) *domainCache {
	return &domainCache{ttl: ttl, maxEntries: maxEntries, entries: map[string]*list.Element{}}
}

func (c *domainCache) enabled() bool { return c.ttl > 0 && c.maxEntries > 0 }

// get returns the live entry for domain, if any, and the current generation.
func (c *domainCache) get(domain string, now time.Time) (e cacheEntry, hit bool, gen uint64) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if el, ok := c.entries[domain]; ok {
		e = *el.Value.(*cacheEntry)
		hit = now.Before(e.expires)
	}
	return e, hit, c.gen
}

// put stores an answer looked up in generation gen, unless the cache has
// been invalidated since.
func (c *domainCache) put(domain string, gen uint64, t runtime.Tenant, found, suspended bool, now time.Time) {
	if !c.enabled() {
		return
	}
	e := &cacheEntry{domain: domain, tenant: t, found: found, suspended: suspended, expires: now.Add(c.ttl)}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if el, ok := c.entries[domain]; ok {
		el.Value = e
		c.order.MoveToBack(el)
		return
	}
	for el := c.order.Front(); el != nil && !now.Before(el.Value.(*cacheEntry).expires); el = c.order.Front() {
		c.remove(el)
	}
	if len(c.entries) >= c.maxEntries {
		c.remove(c.order.Front())
	}
	c.entries[domain] = c.order.PushBack(e)
}

func (c *domainCache) remove(el *list.Element) {
	delete(c.entries, el.Value.(*cacheEntry).domain)
	c.order.Remove(el)
}

// reset empties the cache and starts a new generation.
func (c *domainCache) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.entries)
	c.order.Init()
}
