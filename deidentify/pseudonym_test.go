package deidentify

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"strconv"
	"strings"
	"sync"
	"testing"
)

const propertyIDs = 10_000

// testIDs returns n distinct realistic source identifiers.
func testIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = strconv.Itoa(1_000_000 + i*7919)
	}
	return ids
}

func mustPseudonymizer(t testing.TB, k MasterKey, p KeyParams) *Pseudonymizer {
	t.Helper()
	ps, err := NewPseudonymizer(k, p)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// referencePseudonym is the scheme written the obvious way with crypto/hmac,
// independently of the optimised code.
func referencePseudonym(master MasterKey, p KeyParams, kind Kind, id string) string {
	var info bytes.Buffer
	info.WriteString("rexport/pseudonym")
	fields := []string{p.Partner, string(p.Scope)}
	if p.Scope == ScopeRequest {
		fields = append(fields, p.RequestID)
	}
	fields = append(fields, strconv.Itoa(p.Version))
	for _, f := range fields {
		binary.Write(&info, binary.BigEndian, uint32(len(f)))
		info.WriteString(f)
	}
	key, err := hkdf.Key(sha256.New, master[:], []byte("rexport pseudonym key salt v1"), info.String(), 32)
	if err != nil {
		panic(err)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(kind.String()))
	m.Write([]byte{0})
	m.Write([]byte(id))
	enc := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(m.Sum(nil)[:20])
	return kind.Prefix() + strings.ToLower(enc)
}

func TestNewPseudonymizerValidates(t *testing.T) {
	t.Parallel()
	k := testMasterKey(t, 1)
	for name, p := range map[string]KeyParams{
		"EmptyPartner":            {Scope: ScopePartner, Version: 1},
		"BadScope":                {Partner: "mitx", Scope: "global", Version: 1},
		"EmptyScope":              {Partner: "mitx", Version: 1},
		"MissingRequestID":        {Partner: "mitx", Scope: ScopeRequest, Version: 1},
		"RequestIDInPartnerScope": {Partner: "mitx", Scope: ScopePartner, RequestID: "r1", Version: 1},
		"ZeroVersion":             {Partner: "mitx", Scope: ScopePartner},
		"NegativeVersion":         {Partner: "mitx", Scope: ScopePartner, Version: -1},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := NewPseudonymizer(k, p); err == nil {
				t.Fatalf("NewPseudonymizer(%+v): want error", p)
			}
		})
	}
	t.Run("ZeroKey", func(t *testing.T) {
		if _, err := NewPseudonymizer(MasterKey{}, KeyParams{Partner: "mitx", Scope: ScopePartner, Version: 1}); err == nil {
			t.Fatal("want error for the zero key")
		}
	})
}

func TestPseudonymProperties(t *testing.T) {
	t.Parallel()
	master := testMasterKey(t, 7)
	base := KeyParams{Partner: "mitx", Scope: ScopePartner, Version: 1}
	ps := mustPseudonymizer(t, master, base)
	ids := testIDs(propertyIDs)

	t.Run("MatchesReference", func(t *testing.T) {
		for _, p := range []KeyParams{base, {Partner: "harvardx", Scope: ScopeRequest, RequestID: "req-42", Version: 3}} {
			ps := mustPseudonymizer(t, master, p)
			for i, id := range ids {
				kind := Kind(i%int(kindEnd-1) + 1)
				if got, want := ps.Pseudonym(kind, id), referencePseudonym(master, p, kind, id); got != want {
					t.Fatalf("Pseudonym(%v, %q) = %q, reference %q", kind, id, got, want)
				}
			}
		}
	})

	t.Run("DeterministicAndCollisionFree", func(t *testing.T) {
		again := mustPseudonymizer(t, master, base)
		seen := make(map[string]string, len(ids))
		for _, id := range ids {
			a, b := ps.Pseudonym(KindLearner, id), again.Pseudonym(KindLearner, id)
			if a != b {
				t.Fatalf("not deterministic for %q: %q vs %q", id, a, b)
			}
			if prev, ok := seen[a]; ok {
				t.Fatalf("collision: %q and %q both map to %q", prev, id, a)
			}
			seen[a] = id
			if strings.Contains(a, id) {
				t.Fatalf("pseudonym %q contains the id %q", a, id)
			}
			if len(a) != 34 || !strings.HasPrefix(a, "l_") {
				t.Fatalf("bad shape %q", a)
			}
		}
	})

	t.Run("DiffersAcrossKeyParams", func(t *testing.T) {
		others := map[string]KeyParams{
			"Partner":         {Partner: "harvardx", Scope: ScopePartner, Version: 1},
			"PartnerSplit":    {Partner: "mit", Scope: ScopePartner, Version: 1}, // with "x" moved: length prefixes matter
			"Scope":           {Partner: "mitx", Scope: ScopeRequest, RequestID: "r1", Version: 1},
			"RequestID":       {Partner: "mitx", Scope: ScopeRequest, RequestID: "r2", Version: 1},
			"Version":         {Partner: "mitx", Scope: ScopePartner, Version: 2},
			"OtherMasterKey":  base,
			"RequestIDPrefix": {Partner: "mitx", Scope: ScopeRequest, RequestID: "r", Version: 11},
		}
		r1 := mustPseudonymizer(t, master, others["Scope"])
		for name, p := range others {
			t.Run(name, func(t *testing.T) {
				a, m := ps, master
				if name == "OtherMasterKey" {
					m = testMasterKey(t, 8)
				}
				if name == "RequestID" || name == "RequestIDPrefix" {
					a = r1
				}
				b := mustPseudonymizer(t, m, p)
				for _, id := range ids {
					if a.Pseudonym(KindLearner, id) == b.Pseudonym(KindLearner, id) {
						t.Fatalf("same pseudonym for %q under %+v and %+v", id, a.Params(), p)
					}
				}
			})
		}
	})

	t.Run("DiffersAcrossKinds", func(t *testing.T) {
		for _, id := range ids[:1000] {
			seen := map[string]bool{}
			for k := KindLearner; k < kindEnd; k++ {
				p := ps.Pseudonym(k, id)
				if seen[p[2:]] {
					t.Fatalf("kinds share a pseudonym body for %q", id)
				}
				seen[p[2:]] = true
			}
		}
	})

	t.Run("ConcurrentUse", func(t *testing.T) {
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for _, id := range ids[g*100 : g*100+500] {
					if got, want := ps.Pseudonym(KindPost, id), referencePseudonym(master, base, KindPost, id); got != want {
						t.Errorf("concurrent Pseudonym(%q) = %q, want %q", id, got, want)
						return
					}
				}
			})
		}
		wg.Wait()
	})
}

func TestInfoLengthPrefixed(t *testing.T) {
	t.Parallel()
	a := keyInfo(KeyParams{Partner: "ab", Scope: ScopeRequest, RequestID: "c", Version: 1})
	b := keyInfo(KeyParams{Partner: "a", Scope: ScopeRequest, RequestID: "bc", Version: 1})
	if a == b {
		t.Fatal("info is ambiguous")
	}
}

func TestPseudonymizerDescribe(t *testing.T) {
	t.Parallel()
	p := KeyParams{Partner: "mitx", Scope: ScopePartner, Version: 2}
	ps := mustPseudonymizer(t, testMasterKey(t, 1), p)
	if got, want := ps.Describe(), "HMAC-SHA256, partner scope, key v2"; got != want {
		t.Errorf("Describe() = %q, want %q", got, want)
	}
	if ps.Params() != p {
		t.Errorf("Params() = %+v, want %+v", ps.Params(), p)
	}
}

func TestKind(t *testing.T) {
	t.Parallel()
	for k := KindLearner; k < kindEnd; k++ {
		got, err := ParseKind(k.String())
		if err != nil || got != k {
			t.Errorf("ParseKind(%q) = %v, %v", k.String(), got, err)
		}
	}
	if _, err := ParseKind("user"); err == nil {
		t.Error("ParseKind(user): want error")
	}
	if Kind(0).Valid() || Kind(kindEnd).Valid() || !KindResponse.Valid() {
		t.Error("Valid disagrees with the Kind constants")
	}
	if Kind(0).Prefix() != "" || Kind(99).String() != "Kind(99)" {
		t.Error("invalid kinds should have no prefix and a numeric name")
	}
	defer func() {
		if recover() == nil {
			t.Error("Pseudonym with an invalid kind should panic")
		}
	}()
	mustPseudonymizer(t, testMasterKey(t, 1), KeyParams{Partner: "p", Scope: ScopePartner, Version: 1}).Pseudonym(0, "x")
}

func TestAppendPseudonymDoesNotAllocate(t *testing.T) {
	ps := mustPseudonymizer(t, testMasterKey(t, 1), KeyParams{Partner: "p", Scope: ScopePartner, Version: 1})
	buf := make([]byte, 0, 64)
	ps.AppendPseudonym(buf, KindLearner, "warm-up")
	if n := testing.AllocsPerRun(1000, func() { buf = ps.AppendPseudonym(buf[:0], KindLearner, "12345678") }); n > 0 {
		t.Errorf("AppendPseudonym allocates %v times per call", n)
	}
}

func FuzzPseudonym(f *testing.F) {
	f.Add(uint8(1), "1234567")
	f.Add(uint8(2), "")
	f.Add(uint8(5), "a\x00b")
	f.Add(uint8(3), "日本語 \xff")
	ps := mustPseudonymizer(f, testMasterKey(f, 3), KeyParams{Partner: "fuzz", Scope: ScopePartner, Version: 1})
	f.Fuzz(func(t *testing.T, k uint8, id string) {
		kind := Kind(k%uint8(kindEnd-1) + 1)
		got := ps.Pseudonym(kind, id)
		if again := ps.Pseudonym(kind, id); again != got {
			t.Fatalf("not deterministic: %q vs %q", got, again)
		}
		if !strings.HasPrefix(got, kind.Prefix()) || len(got) != 34 {
			t.Fatalf("bad shape %q for kind %v", got, kind)
		}
		for _, c := range []byte(got) {
			if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7' || c == '_') {
				t.Fatalf("bad character %q in %q", c, got)
			}
		}
	})
}

func BenchmarkPseudonym(b *testing.B) {
	ps := mustPseudonymizer(b, testMasterKey(b, 1), KeyParams{Partner: "mitx", Scope: ScopePartner, Version: 1})
	ids := testIDs(1 << 16)
	b.Run("String", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			_ = ps.Pseudonym(KindLearner, ids[i&(len(ids)-1)])
			i++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pseudonyms/s")
	})
	b.Run("Append", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 64)
		i := 0
		for b.Loop() {
			buf = ps.AppendPseudonym(buf[:0], KindLearner, ids[i&(len(ids)-1)])
			i++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pseudonyms/s")
	})
}
