package deidentify

import (
	"bytes"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"
)

// testMasterKey returns a deterministic master key for tests.
func testMasterKey(t testing.TB, seed uint64) MasterKey {
	t.Helper()
	var s [32]byte
	s[0] = byte(seed)
	s[1] = byte(seed >> 8)
	k, err := GenerateMasterKey(rand.NewChaCha8(s))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestMasterKey(t *testing.T) {
	t.Parallel()
	k := testMasterKey(t, 1)

	t.Run("EncodeParseRoundTrip", func(t *testing.T) {
		got, err := ParseMasterKey("  \n" + k.Encode() + "\n")
		if err != nil {
			t.Fatal(err)
		}
		if got != k {
			t.Fatal("round trip changed the key")
		}
	})

	t.Run("ParseErrorsDoNotEchoInput", func(t *testing.T) {
		short := k.Encode()[:20]
		for _, in := range []string{"", "   ", short, k.Encode() + "AAAA", "not base64 !!secret!!", strings.Repeat("A", 43)} {
			_, err := ParseMasterKey(in)
			if err == nil {
				t.Errorf("ParseMasterKey(%q): want error", in)
				continue
			}
			if s := strings.TrimSpace(in); s != "" && strings.Contains(err.Error(), s) {
				t.Errorf("error %q echoes the input", err)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q echoes the input", err)
			}
		}
	})

	t.Run("GenerateShortReader", func(t *testing.T) {
		if _, err := GenerateMasterKey(bytes.NewReader(make([]byte, 31))); err == nil {
			t.Fatal("want error for a short reader")
		}
	})

	t.Run("NeverPrinted", func(t *testing.T) {
		enc := k.Encode()
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d", "%T"} {
			out := fmt.Sprintf(verb, k)
			if verb == "%T" {
				continue
			}
			if out != "[REDACTED]" {
				t.Errorf("Sprintf(%s) = %q, want [REDACTED]", verb, out)
			}
		}
		s := fmt.Sprintf("%v %+v", struct{ K MasterKey }{k}, &struct{ K MasterKey }{k})
		if strings.Contains(s, enc) || !strings.Contains(s, "[REDACTED]") {
			t.Errorf("struct printing leaks: %q", s)
		}
		var buf bytes.Buffer
		slog.New(slog.NewTextHandler(&buf, nil)).Info("loaded", "key", k)
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("loaded", "key", k)
		if strings.Contains(buf.String(), enc) || strings.Count(buf.String(), "[REDACTED]") != 2 {
			t.Errorf("slog output leaks or lacks redaction: %q", buf.String())
		}
	})
}

func TestParseScope(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]Scope{"": ScopePartner, "partner": ScopePartner, " Request ": ScopeRequest} {
		got, err := ParseScope(in)
		if err != nil || got != want {
			t.Errorf("ParseScope(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseScope("global"); err == nil {
		t.Error("ParseScope(global): want error")
	}
}
