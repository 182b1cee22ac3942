// Package netguard owns Pedigree's defences against server-side request
// forgery: which outbound URLs are acceptable (CheckURL), which addresses
// may be reached (Blocked, Allowed), and an HTTP client that enforces both
// when it connects (NewClient), so that a name resolving to a private
// address at send time (DNS rebinding) is refused as well as a literal one.
//
// Two classes of non-public address are told apart. Private ones —
// loopback, RFC 1918, unique-local IPv6, shared CGNAT space — are reachable
// when the caller passes allowPrivate (tests, on-premises receivers).
// Forbidden ones — link-local (cloud metadata at 169.254.169.254),
// unspecified, multicast, broadcast, documentation and reserved ranges,
// Teredo, and IPv6 forms embedding a non-public IPv4 address — never are.
package netguard

import (
	"errors"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// MaxURLLen bounds an outbound URL, in bytes.
const MaxURLLen = 2048

// ErrAddressNotAllowed is wrapped by the error of a connection NewClient's
// transport refused because of the address it would reach.
var ErrAddressNotAllowed = errors.New("netguard: address not allowed")

type class int

const (
	public    class = iota
	private         // reachable with allowPrivate
	forbidden       // never reachable
)

func mustPrefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

var (
	private4 = mustPrefixes(
		"127.0.0.0/8",    // loopback
		"10.0.0.0/8",     // RFC 1918
		"172.16.0.0/12",  // RFC 1918
		"192.168.0.0/16", // RFC 1918
		"100.64.0.0/10",  // shared address space (CGNAT, Tailscale)
		"198.18.0.0/15",  // benchmarking
	)
	forbidden4 = mustPrefixes(
		"0.0.0.0/8",       // "this network", 0.0.0.0 reaches the local host
		"169.254.0.0/16",  // link-local, cloud metadata
		"192.0.0.0/24",    // IETF protocol assignments
		"192.0.2.0/24",    // TEST-NET-1
		"192.88.99.0/24",  // 6to4 relay anycast
		"198.51.100.0/24", // TEST-NET-2
		"203.0.113.0/24",  // TEST-NET-3
		"224.0.0.0/4",     // multicast
		"240.0.0.0/4",     // reserved, and 255.255.255.255 broadcast
	)
	private6 = mustPrefixes(
		"::1/128",        // loopback
		"fc00::/7",       // unique local
		"fec0::/10",      // site-local (deprecated)
		"64:ff9b:1::/48", // local-use NAT64
	)
	forbidden6 = mustPrefixes(
		"::/128",          // unspecified
		"fe80::/10",       // link-local
		"ff00::/8",        // multicast
		"100::/64",        // discard-only
		"2001::/32",       // Teredo: embeds an obfuscated IPv4 address
		"2001:db8::/32",   // documentation
		"2001:10::/28",    // ORCHID
		"2001:20::/28",    // ORCHIDv2
		"3fff::/20",       // documentation
		"::ffff:0:0:0/96", // IPv4-translated (SIIT)
	)
	nat64   = netip.MustParsePrefix("64:ff9b::/96")
	sixTo4  = netip.MustParsePrefix("2002::/16")
	compat4 = netip.MustParsePrefix("::/96") // IPv4-compatible (deprecated)
)

func classify(ip netip.Addr) class {
	if !ip.IsValid() {
		return forbidden
	}
	ip = ip.WithZone("").Unmap()
	if ip.Is4() {
		for _, p := range forbidden4 {
			if p.Contains(ip) {
				return forbidden
			}
		}
		for _, p := range private4 {
			if p.Contains(ip) {
				return private
			}
		}
		return public
	}
	for _, p := range forbidden6 {
		if p.Contains(ip) {
			return forbidden
		}
	}
	for _, p := range private6 {
		if p.Contains(ip) {
			return private
		}
	}
	// Forms that carry an IPv4 address a gateway or the stack may reach:
	// acceptable only if that address is public.
	b := ip.As16()
	var embedded netip.Addr
	switch {
	case compat4.Contains(ip):
		return forbidden // deprecated, unroutable, read as IPv4 by some stacks
	case nat64.Contains(ip):
		embedded = netip.AddrFrom4([4]byte(b[12:16]))
	case sixTo4.Contains(ip):
		embedded = netip.AddrFrom4([4]byte(b[2:6]))
	default:
		return public
	}
	if classify(embedded) != public {
		return forbidden
	}
	return public
}

// Blocked reports whether ip is not a public unicast address: loopback,
// private, link-local, unspecified, multicast, broadcast, shared, reserved
// or documentation space, or an IPv6 address mapping or embedding one
// (IPv4-mapped, IPv4-compatible, NAT64, 6to4, Teredo).
func Blocked(ip netip.Addr) bool { return classify(ip) != public }

// Allowed reports whether ip may be reached: a public address, or with
// allowPrivate also loopback and private ranges. Link-local (cloud
// metadata), multicast and the other forbidden ranges are never allowed.
func Allowed(ip netip.Addr, allowPrivate bool) bool {
	switch classify(ip) {
	case public:
		return true
	case private:
		return allowPrivate
	}
	return false
}

// urlError is what CheckURL returns; it never quotes the URL, which may
// carry a token.
type urlError struct{ rule string }

func (e *urlError) Error() string { return e.rule }

func refuse(rule string) error { return &urlError{rule} }

// CheckURL validates a URL Pedigree is asked to send requests to: an
// absolute http or https URL of at most MaxURLLen printable ASCII bytes,
// with a host, no user information, no fragment, and a port in 1–65535 if
// one is given. The host is a DNS name or an IP literal; IP literals must
// be Allowed, numeric hosts in any other form (2130706433, 0x7f000001,
// 0177.0.0.1, 127.1) are always refused, and so are "localhost", names
// under .localhost and .internal unless allowPrivate. The message of the
// error names the rule broken and never repeats the URL.
//
// CheckURL cannot know what a name resolves to; NewClient's connect-time
// check is the defence for names.
func CheckURL(raw string, allowPrivate bool) error {
	if raw == "" {
		return refuse("is required")
	}
	if len(raw) > MaxURLLen {
		return refuse("must be at most " + strconv.Itoa(MaxURLLen) + " bytes")
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c <= ' ' || c >= 0x7f {
			return refuse("must contain only printable ASCII characters (no spaces or control characters; use punycode for international names)")
		}
	}
	if strings.ContainsRune(raw, '\\') {
		return refuse("must not contain backslashes")
	}
	if strings.ContainsRune(raw, '#') {
		return refuse("must not have a fragment")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return refuse("is not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return refuse("must be an absolute http or https URL")
	}
	if u.Opaque != "" || u.Host == "" {
		return refuse("must be an absolute http or https URL with a host")
	}
	if u.User != nil {
		return refuse("must not contain credentials (user information); use the webhook secret to authenticate")
	}
	if strings.ContainsRune(u.Host, '%') {
		return refuse("host must not be percent-encoded or carry an IPv6 zone")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return refuse("port must be a number from 1 to 65535")
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return refuse("port must be a number from 1 to 65535")
	}
	host := u.Hostname()
	if host == "" {
		return refuse("must have a host")
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if !Allowed(ip, allowPrivate) {
			return refuse("host is an address in a blocked range (loopback, private, link-local, multicast or reserved)")
		}
		return nil
	}
	if strings.HasPrefix(u.Host, "[") {
		return refuse("host is not a valid IPv6 address")
	}
	return checkName(host, allowPrivate)
}

// checkName validates a DNS host name.
func checkName(host string, allowPrivate bool) error {
	name := strings.ToLower(strings.TrimSuffix(host, "."))
	if name == "" || len(name) > 253 {
		return refuse("host must be a DNS name of at most 253 characters")
	}
	labels := strings.Split(name, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return refuse("host must be a DNS name with labels of 1 to 63 characters")
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return refuse("host name labels must not start or end with '-'")
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return refuse("host name must contain only letters, digits, '-', '_' and '.'")
			}
		}
	}
	// Resolvers (inet_aton, browsers' URL parsers) read a name whose last
	// label is numeric as an IPv4 address in decimal, octal or hex, whole
	// or in parts; no real top-level domain is numeric.
	if numericLabel(labels[len(labels)-1]) {
		return refuse("host must not be a numeric address in a non-standard form; write IPv4 addresses as four decimal parts")
	}
	if !allowPrivate {
		last := labels[len(labels)-1]
		if name == "localhost" || last == "localhost" || last == "internal" || last == "local" {
			return refuse("host must not be localhost or a local-only name (.localhost, .local, .internal)")
		}
	}
	return nil
}

func numericLabel(l string) bool {
	if len(l) > 1 && l[0] == '0' && (l[1] == 'x' || l[1] == 'X') {
		for _, c := range l[2:] {
			if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
				return false
			}
		}
		return true
	}
	for _, c := range l {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Control returns a net.Dialer Control function that refuses to connect to
// an address that is not Allowed. It runs after name resolution, on the
// address actually dialed, so it holds against DNS rebinding.
func Control(allowPrivate bool) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		switch network {
		case "tcp", "tcp4", "tcp6":
		default:
			return ErrAddressNotAllowed
		}
		ap, err := netip.ParseAddrPort(address)
		if err != nil || !Allowed(ap.Addr(), allowPrivate) {
			return ErrAddressNotAllowed
		}
		return nil
	}
}

// NewClient returns an HTTP client for requests to user-supplied URLs: no
// proxy (an environment proxy would connect on the client's behalf and
// bypass the address check), connections only to Allowed addresses, checked
// at connect time, redirects never followed (the 3xx response is the
// result), and each request, body included, bounded by timeout.
func NewClient(allowPrivate bool, timeout time.Duration) *http.Client {
	dialer := &net.Dialer{
		Timeout:   timeout,
		KeepAlive: 30 * time.Second,
		Control:   Control(allowPrivate),
	}
	tr := &http.Transport{
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           100,
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    timeout,
		ResponseHeaderTimeout:  timeout,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 64 << 10,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
