package netguard

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestBlocked(t *testing.T) {
	tests := []struct {
		ip           string
		blocked      bool // Blocked(ip)
		allowPrivate bool // Allowed(ip, true)
	}{
		// public
		{"8.8.8.8", false, true},
		{"1.1.1.1", false, true},
		{"93.184.215.14", false, true},
		{"2606:4700:4700::1111", false, true},
		{"64:ff9b::808:808", false, true},     // NAT64 of 8.8.8.8
		{"2002:808:808::1", false, true},      // 6to4 of 8.8.8.8
		{"::ffff:8.8.8.8", false, true},       // mapped public
		{"172.32.0.1", false, true},           // just outside 172.16/12
		{"100.128.0.1", false, true},          // just outside 100.64/10
		{"169.253.255.255", false, true},      // just outside link-local
		{"11.0.0.1", false, true},             // just outside 10/8
		{"2001:4860:4860::8888", false, true}, // Google DNS, not Teredo

		// private: reachable with allowPrivate
		{"127.0.0.1", true, true},
		{"127.255.255.254", true, true},
		{"10.0.0.1", true, true},
		{"172.16.0.1", true, true},
		{"172.31.255.255", true, true},
		{"192.168.1.1", true, true},
		{"100.64.0.1", true, true}, // CGNAT
		{"100.127.255.255", true, true},
		{"198.18.0.1", true, true}, // benchmarking
		{"::1", true, true},
		{"fc00::1", true, true},
		{"fd12:3456::1", true, true},
		{"fec0::1", true, true},
		{"::ffff:127.0.0.1", true, true}, // mapped loopback is loopback
		{"::ffff:10.1.2.3", true, true},

		// forbidden: never reachable
		{"169.254.169.254", true, false}, // cloud metadata
		{"169.254.0.1", true, false},
		{"::ffff:169.254.169.254", true, false},
		{"fe80::1", true, false},
		{"fe80::1%eth0", true, false},
		{"fd00:ec2::254", true, true}, // AWS IPv6 metadata is ULA: private
		{"0.0.0.0", true, false},
		{"0.1.2.3", true, false},
		{"::", true, false},
		{"224.0.0.1", true, false},
		{"239.255.255.250", true, false},
		{"ff02::1", true, false},
		{"255.255.255.255", true, false},
		{"240.0.0.1", true, false},
		{"192.0.2.1", true, false},
		{"198.51.100.7", true, false},
		{"203.0.113.9", true, false},
		{"2001:db8::1", true, false},
		{"192.0.0.170", true, false},
		{"::127.0.0.1", true, false},         // IPv4-compatible
		{"::8.8.8.8", true, false},           // IPv4-compatible, even of a public address
		{"64:ff9b::7f00:1", true, false},     // NAT64 of 127.0.0.1
		{"64:ff9b::a9fe:a9fe", true, false},  // NAT64 of 169.254.169.254
		{"64:ff9b::a00:1", true, false},      // NAT64 of 10.0.0.1
		{"64:ff9b:1::1", true, true},         // local-use NAT64
		{"2002:7f00:1::1", true, false},      // 6to4 of 127.0.0.1
		{"2002:a9fe:a9fe::", true, false},    // 6to4 of 169.254.169.254
		{"2002:c0a8:101::1", true, false},    // 6to4 of 192.168.1.1
		{"2001:0:4136:e378::1", true, false}, // Teredo
		{"100::1", true, false},              // discard-only
		{"::ffff:0:7f00:1", true, false},     // IPv4-translated
		{"2001:10::1", true, false},          // ORCHID
		{"3fff::1", true, false},             // documentation
	}
	for _, tt := range tests {
		ip := netip.MustParseAddr(tt.ip)
		if got := Blocked(ip); got != tt.blocked {
			t.Errorf("Blocked(%s) = %v, want %v", tt.ip, got, tt.blocked)
		}
		if got := Allowed(ip, false); got != !tt.blocked {
			t.Errorf("Allowed(%s, false) = %v, want %v", tt.ip, got, !tt.blocked)
		}
		if got := Allowed(ip, true); got != tt.allowPrivate {
			t.Errorf("Allowed(%s, true) = %v, want %v", tt.ip, got, tt.allowPrivate)
		}
	}
	if !Blocked(netip.Addr{}) || Allowed(netip.Addr{}, true) {
		t.Errorf("the zero Addr must be blocked")
	}
}

func TestCheckURL(t *testing.T) {
	const (
		ok      = iota // accepted either way
		private        // accepted only with allowPrivate
		never          // refused either way
	)
	tests := []struct {
		url  string
		want int
		rule string // substring of the message when refused
	}{
		{"https://hooks.example.com/pedigree", ok, ""},
		{"http://hooks.example.com:8080/p?token=abc&x=1", ok, ""},
		{"HTTPS://Hooks.Example.COM/", ok, ""},
		{"https://hooks.example.com./", ok, ""}, // trailing dot
		{"https://8.8.8.8/", ok, ""},
		{"https://[2606:4700:4700::1111]:443/", ok, ""},
		{"https://under_score.example.com/", ok, ""},
		{"https://xn--bcher-kva.example/", ok, ""},
		{"https://1password.com/", ok, ""}, // numeric first label is fine

		{"http://127.0.0.1:8080/", private, "blocked range"},
		{"http://10.1.2.3/", private, "blocked range"},
		{"http://192.168.0.10/", private, "blocked range"},
		{"http://172.20.0.1/", private, "blocked range"},
		{"http://100.100.1.1/", private, "blocked range"},
		{"http://[::1]:9000/", private, "blocked range"},
		{"http://[fd00::1]/", private, "blocked range"},
		{"http://[::ffff:127.0.0.1]/", private, "blocked range"},
		{"http://[::ffff:7f00:1]/", private, "blocked range"},
		{"http://localhost:8080/", private, "localhost"},
		{"http://LOCALHOST./", private, "localhost"},
		{"http://api.localhost/", private, "localhost"},
		{"http://metadata.google.internal/", private, "localhost"},
		{"http://printer.local/", private, "localhost"},

		{"http://169.254.169.254/latest/meta-data/", never, "blocked range"},
		{"http://[fe80::1]/", never, "blocked range"},
		{"http://[::ffff:169.254.169.254]/", never, "blocked range"},
		{"http://[::ffff:a9fe:a9fe]/", never, "blocked range"},
		{"http://0.0.0.0:8080/", never, "blocked range"},
		{"http://[::]/", never, "blocked range"},
		{"http://224.0.0.1/", never, "blocked range"},
		{"http://255.255.255.255/", never, "blocked range"},
		{"http://[64:ff9b::7f00:1]/", never, "blocked range"},
		{"http://[2002:7f00:1::]/", never, "blocked range"},
		{"http://2130706433/", never, "numeric"},
		{"http://0x7f000001/", never, "numeric"},
		{"http://0X7F000001/", never, "numeric"},
		{"http://0177.0.0.1/", never, "numeric"},
		{"http://0x7f.0.0.1/", never, "numeric"},
		{"http://127.1/", never, "numeric"},
		{"http://127.0.1/", never, "numeric"},
		{"http://10.1/", never, "numeric"},
		{"http://8.8.8.8./", never, "numeric"},
		{"http://017700000001/", never, "numeric"},
		{"http://[fe80::1%25eth0]/", never, "percent"},
		{"http://%31%32%37.0.0.1/", never, "valid URL"},
		{"http://user:pass@hooks.example.com/", never, "credentials"},
		{"http://user@hooks.example.com/", never, "credentials"},
		{"http://:@hooks.example.com/", never, "credentials"},
		{"https://hooks.example.com/#frag", never, "fragment"},
		{"ftp://hooks.example.com/", never, "http or https"},
		{"file:///etc/passwd", never, "http or https"},
		{"gopher://hooks.example.com/", never, "http or https"},
		{"javascript:alert(1)", never, "http or https"},
		{"http:hooks.example.com", never, "host"},
		{"//hooks.example.com/", never, "http or https"},
		{"/relative/path", never, "http or https"},
		{"hooks.example.com", never, "http or https"},
		{"http:///path", never, "host"},
		{"https://hooks.example.com:0/", never, "port"},
		{"https://hooks.example.com:65536/", never, "port"},
		{"https://hooks.example.com:/", never, "port"},
		{"https://hooks.example.com:http/", never, "valid URL"},
		{"https://hooks example.com/", never, "printable"},
		{"https://hooks.example.com/\r\nX-Injected: 1", never, "printable"},
		{"https://hooks.example.com/\x00", never, "printable"},
		{"https://bücher.example/", never, "printable"},
		{"https:\\\\hooks.example.com\\", never, "backslash"},
		{"https://hooks.example.com\\@127.0.0.1/", never, "backslash"},
		{"https://-bad.example.com/", never, "'-'"},
		{"https://a..b.example.com/", never, "labels"},
		{"https://hooks!.example.com/", never, "letters, digits"},
		{"https://[::1/", never, "valid URL"},
		{"https://[not-an-ip]/", never, "valid URL"},
		{"https://hooks.example.com/" + strings.Repeat("a", MaxURLLen), never, "at most"},
		{"https://" + strings.Repeat("a", 64) + ".example.com/", never, "1 to 63"},
		{"", never, "required"},
	}
	for _, tt := range tests {
		for _, allow := range []bool{false, true} {
			err := CheckURL(tt.url, allow)
			wantOK := tt.want == ok || tt.want == private && allow
			if wantOK {
				if err != nil {
					t.Errorf("CheckURL(%q, %v) = %v, want nil", tt.url, allow, err)
				}
				continue
			}
			if err == nil {
				t.Errorf("CheckURL(%q, %v) = nil, want an error about %q", tt.url, allow, tt.rule)
				continue
			}
			if !strings.Contains(err.Error(), tt.rule) {
				t.Errorf("CheckURL(%q, %v) = %q, want it to mention %q", tt.url, allow, err, tt.rule)
			}
		}
	}
}

// The message of a refused URL names the rule, never the URL or its secrets.
func TestCheckURLDoesNotEchoSecrets(t *testing.T) {
	for _, raw := range []string{
		"http://admin:s3cr3tpw@hooks.example.com/",
		"http://169.254.169.254/?token=s3cr3tpw",
		"ftp://hooks.example.com/s3cr3tpw",
		"https://hooks.example.com/s3cr3tpw#s3cr3tpw",
		"https://s3cr3tpw.localhost/",
	} {
		err := CheckURL(raw, false)
		if err == nil {
			t.Fatalf("CheckURL(%q) = nil, want an error", raw)
		}
		if strings.Contains(err.Error(), "s3cr3tpw") || strings.Contains(err.Error(), "admin") {
			t.Errorf("CheckURL(%q) = %q: echoes the URL", raw, err)
		}
	}
}

func TestControl(t *testing.T) {
	tests := []struct {
		network, address string
		allowPrivate     bool
		want             bool // allowed
	}{
		{"tcp4", "8.8.8.8:443", false, true},
		{"tcp6", "[2606:4700:4700::1111]:443", false, true},
		{"tcp4", "127.0.0.1:80", false, false},
		{"tcp4", "127.0.0.1:80", true, true},
		{"tcp6", "[::1]:80", false, false},
		{"tcp6", "[::1]:80", true, true},
		{"tcp6", "[::ffff:127.0.0.1]:80", false, false},
		{"tcp4", "10.0.0.5:80", false, false},
		{"tcp4", "10.0.0.5:80", true, true},
		{"tcp4", "169.254.169.254:80", true, false},
		{"tcp6", "[fe80::1%eth0]:80", true, false},
		{"tcp4", "0.0.0.0:80", true, false},
		{"udp4", "8.8.8.8:53", false, false},
		{"tcp", "not-an-address", true, false},
	}
	for _, tt := range tests {
		err := Control(tt.allowPrivate)(tt.network, tt.address, nil)
		if got := err == nil; got != tt.want {
			t.Errorf("Control(%v)(%s, %s) = %v, want allowed=%v", tt.allowPrivate, tt.network, tt.address, err, tt.want)
		}
		if err != nil && !errors.Is(err, ErrAddressNotAllowed) {
			t.Errorf("Control(%v)(%s, %s) = %v, want ErrAddressNotAllowed", tt.allowPrivate, tt.network, tt.address, err)
		}
	}
}

func countingServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if h != nil {
			h(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// A loopback receiver is refused when the connection is made, whether it
// was named by address or by a name that resolves to it; nothing reaches it.
func TestClientRefusesBlockedAtConnect(t *testing.T) {
	srv, hits := countingServer(t, nil)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	for _, u := range []string{srv.URL, "http://localhost:" + port + "/"} {
		resp, err := NewClient(false, 2*time.Second).Get(u)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("GET %s with allowPrivate=false: status %d, want refusal", u, resp.StatusCode)
		}
		if !errors.Is(err, ErrAddressNotAllowed) {
			t.Errorf("GET %s: %v, want ErrAddressNotAllowed", u, err)
		}
	}
	if got := hits.Load(); got != 0 {
		t.Errorf("receiver saw %d requests, want 0", got)
	}

	resp, err := NewClient(true, 2*time.Second).Get(srv.URL)
	if err != nil {
		t.Fatalf("GET with allowPrivate=true: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || hits.Load() != 1 {
		t.Errorf("allowPrivate=true: status %d, hits %d; want 200, 1", resp.StatusCode, hits.Load())
	}
}

func TestClientDoesNotFollowRedirects(t *testing.T) {
	target, targetHits := countingServer(t, nil)
	for _, code := range []int{301, 302, 303, 307, 308} {
		src, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target.URL+"/stolen", code)
		})
		resp, err := NewClient(true, 2*time.Second).Post(src.URL, "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatalf("POST (redirect %d): %v", code, err)
		}
		resp.Body.Close()
		if resp.StatusCode != code {
			t.Errorf("redirect %d: got status %d, want the 3xx itself", code, resp.StatusCode)
		}
	}
	if got := targetHits.Load(); got != 0 {
		t.Errorf("redirect target saw %d requests, want 0", got)
	}
}

func TestClientIgnoresProxyEnvironment(t *testing.T) {
	proxy, proxyHits := countingServer(t, nil)
	t.Setenv("HTTP_PROXY", proxy.URL)
	t.Setenv("HTTPS_PROXY", proxy.URL)
	t.Setenv("NO_PROXY", "")
	c := NewClient(false, time.Second)
	if tr, ok := c.Transport.(*http.Transport); !ok || tr.Proxy != nil {
		t.Fatalf("transport proxy is set, want nil")
	}
	// A public address that is never dialed: the dial is refused or times
	// out; what matters is that the proxy sees nothing.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://192.0.2.1/", nil)
	if resp, err := c.Do(req); err == nil {
		resp.Body.Close()
	}
	if got := proxyHits.Load(); got != 0 {
		t.Errorf("proxy saw %d requests, want 0", got)
	}
}

func TestClientTimeout(t *testing.T) {
	release := make(chan struct{})
	srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	start := time.Now()
	resp, err := NewClient(true, 150*time.Millisecond).Get(srv.URL)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("GET of a stalled receiver succeeded, want a timeout")
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("GET of a stalled receiver: %v, want a timeout error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("timeout took %v, want about 150ms", d)
	}
}
