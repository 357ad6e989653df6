package runtime

import (
	"fmt"
	"net/netip"
	"strings"
)

// maxHostLen is the longest DNS name in text form, without the trailing dot
// (RFC 1035 §2.3.4 and errata).
const maxHostLen = 253

// maxHostPortLen bounds the work done on a Host header: a name of maxHostLen
// bytes with its trailing dot, and a port.
const maxHostPortLen = maxHostLen + len(".") + len(":65535")

// NormalizeDomain turns a host name, or a request's Host (r.Host), into the
// key domains are registered under, as the registry and the HTTP middleware
// both need it. Spaces around it are ignored.
func NormalizeDomain(host string) (string, error) {
	d, ok := normalizeHost(strings.TrimSpace(host))
	if !ok {
		return "", fmt.Errorf("invalid domain %q", truncate(host))
	}
	return d, nil
}

// normalizeHost turns a request's Host (r.Host) into the key domains are
// registered under: the host name lower-cased, without port or trailing dot;
// for an IPv6 literal, the address in canonical form without brackets
// (netip.Addr.String, "::1"). It reports false for a host no registry could
// hold: too long, with a label empty or longer than 63 bytes, or with bytes
// outside letters, digits, '-', '_' and '.'. The underscore is not valid in
// host names proper, but is in DNS names, browsers send it, and tenant names
// (hence subdomains) use it.
//
// Rejecting early keeps junk (a 64 KiB Host, a Host with '%' or '!', which
// net/http lets through) away from the registry and out of the cache.
func normalizeHost(hostport string) (string, bool) {
	if len(hostport) > maxHostPortLen {
		return "", false
	}
	if strings.HasPrefix(hostport, "[") {
		end := strings.IndexByte(hostport, ']')
		if end < 0 || !validPort(hostport[end+1:]) {
			return "", false
		}
		return normalizeIPv6(hostport[1:end])
	}
	host := hostport
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 {
		if strings.IndexByte(hostport[:i], ':') >= 0 {
			// Colons but no brackets: a bare IPv6 literal. RFC 9110 does not
			// allow it in Host, but it is unambiguous (no port).
			return normalizeIPv6(hostport)
		}
		if !validPort(hostport[i:]) {
			return "", false
		}
		host = hostport[:i]
	}
	host = strings.TrimSuffix(host, ".")
	if host == "" || len(host) > maxHostLen {
		return "", false
	}
	lower := true
	label := 0
	for i := 0; i < len(host); i++ {
		switch b := host[i]; {
		case b == '.':
			if label == 0 {
				return "", false
			}
			label = 0
			continue
		case 'A' <= b && b <= 'Z':
			lower = false
		case 'a' <= b && b <= 'z', '0' <= b && b <= '9', b == '-', b == '_':
		default:
			return "", false
		}
		if label++; label > 63 {
			return "", false
		}
	}
	if label == 0 {
		return "", false
	}
	if !lower {
		host = strings.ToLower(host) // ASCII only, checked above
	}
	return host, true
}

// validPort reports whether s is empty or a colon and at most five digits
// (an empty port is allowed, as net/url allows it).
func validPort(s string) bool {
	if s == "" {
		return true
	}
	if s[0] != ':' || len(s) > len(":65535") {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// normalizeIPv6 canonicalises an IPv6 literal, so [::1] and [0:0::1] are one
// key. Zones are refused: they name a local interface, not a site.
func normalizeIPv6(s string) (string, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is6() || a.Zone() != "" {
		return "", false
	}
	return a.String(), true
}
