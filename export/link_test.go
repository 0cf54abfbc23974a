package export_test

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rexport/rexport/export"
)

// TestLinkVerify changes one thing at a time about a valid link: any field,
// the signature, the key, or the time it is used. Only the link as signed,
// used before it expires, verifies.
func TestLinkVerify(t *testing.T) {
	now := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	signer := export.LinkSigner{KeyID: "k1", Key: linkKey}
	valid := export.Link{Method: "GET", ExportID: "exp_0001", File: "grades.parquet", PrincipalID: "prn_requester",
		Expires: now.Add(time.Hour), KeyID: "k1"}
	sig := signer.Sign(valid)
	// otherChar replaces the character at i with another of the alphabet.
	otherChar := func(s string, i int) string {
		c := byte('A')
		if s[i] == 'A' {
			c = 'B'
		}
		return s[:i] + string(c) + s[i+1:]
	}
	tests := []struct {
		name   string
		link   func(l *export.Link)
		sig    string
		signer export.LinkSigner
		now    time.Time
		ok     bool
	}{
		{name: "Valid", ok: true},
		{name: "ValidUpToTheLastSecond", now: valid.Expires.Add(-time.Second), ok: true},
		{name: "Method", link: func(l *export.Link) { l.Method = "HEAD" }},
		{name: "ExportID", link: func(l *export.Link) { l.ExportID = "exp_0002" }},
		{name: "File", link: func(l *export.Link) { l.File = "forum_posts.parquet" }},
		{name: "FileCase", link: func(l *export.Link) { l.File = "Grades.parquet" }},
		{name: "PrincipalID", link: func(l *export.Link) { l.PrincipalID = "prn_peer" }},
		{name: "ExpiresLater", link: func(l *export.Link) { l.Expires = l.Expires.Add(time.Second) }},
		{name: "ExpiresEarlier", link: func(l *export.Link) { l.Expires = l.Expires.Add(-time.Second) }},
		{name: "KeyID", link: func(l *export.Link) { l.KeyID = "k2" }},
		{name: "FieldBoundaryMoved", link: func(l *export.Link) { l.ExportID, l.File = "exp_0001g", "rades.parquet" }},
		{name: "SignatureFirstChar", sig: otherChar(sig, 0)},
		{name: "SignatureMiddleChar", sig: otherChar(sig, len(sig)/2)},
		{name: "SignatureLastChar", sig: otherChar(sig, len(sig)-1)},
		// The last character carries 4 bits of the MAC and 2 unused bits;
		// changing only those must not give a second valid signature.
		{name: "SignatureUnusedBits", sig: flipUnusedBit(sig)},
		{name: "SignaturePadded", sig: sig + "="},
		{name: "SignatureTruncated", sig: sig[:len(sig)-1]},
		{name: "SignatureEmpty", sig: "-"},
		{name: "OtherKey", signer: export.LinkSigner{KeyID: "k1", Key: []byte("another key, same key id........")}},
		{name: "NoKey", signer: export.LinkSigner{KeyID: "k1"}},
		{name: "UsedAtExpiry", now: valid.Expires},
		{name: "UsedOneSecondAfterExpiry", now: valid.Expires.Add(time.Second)},
		{name: "MoreThan24HoursAhead", now: valid.Expires.Add(-export.MaxLinkTTL - time.Second)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := valid
			if tt.link != nil {
				tt.link(&l)
			}
			s := sig
			switch tt.sig {
			case "":
			case "-":
				s = ""
			default:
				s = tt.sig
			}
			v := signer
			if tt.signer.KeyID != "" {
				v = tt.signer
			}
			at := now
			if !tt.now.IsZero() {
				at = tt.now
			}
			err := v.Verify(l, s, at)
			if tt.ok && err != nil {
				t.Fatalf("valid link refused: %v", err)
			}
			if !tt.ok && export.ErrorCode(err) != export.EUNAUTHENTICATED {
				t.Fatalf("err = %v, want unauthenticated", err)
			}
		})
	}
	t.Run("ExactlyMaxTTLAhead", func(t *testing.T) {
		if err := signer.Verify(valid, sig, valid.Expires.Add(-export.MaxLinkTTL)); err != nil {
			t.Errorf("a link valid for exactly %s refused: %v", export.MaxLinkTTL, err)
		}
	})
	t.Run("URLCarriesEveryField", func(t *testing.T) {
		u, err := url.Parse(valid.URL(sig))
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		if u.Path != "/v1/links/exp_0001/grades.parquet" || q.Get("principal") != valid.PrincipalID || q.Get("kid") != "k1" ||
			q.Get("sig") != sig || q.Get("expires") != strconv.FormatInt(valid.Expires.Unix(), 10) {
			t.Errorf("URL %s", valid.URL(sig))
		}
	})
}

// flipUnusedBit changes the lowest bit of the last character of an
// unpadded base64url encoding of 32 bytes: a bit that encodes nothing.
func flipUnusedBit(sig string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, sig[len(sig)-1])
	return sig[:len(sig)-1] + string(alphabet[last^1])
}

// TestLinkDownloadableRechecks shows that a signed link is only as good as
// what it stands for at the moment it is used: revoking the export, the
// principal's token, or the end of the agreement stops it at once.
func TestLinkDownloadableRechecks(t *testing.T) {
	setup := func(t *testing.T) (*governance, export.Link, string) {
		g := setupGovernance(t)
		id := g.newExportIn(t, export.StateReady)
		links, err := g.svc.CreateLinks(g.ctx, g.pipeline, id, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(links) != 1 || !links[0].ExpiresAt.Equal(g.now.Add(export.DefaultLinkTTL)) {
			t.Fatalf("links: %+v", links)
		}
		l, sig := parseLink(t, links[0].URL)
		if _, _, f, err := g.svc.LinkDownloadable(g.ctx, l, sig); err != nil || f == nil || f.Name != builtFiles[0].Name {
			t.Fatalf("fresh link: %+v, %v", f, err)
		}
		return g, l, sig
	}
	tests := []struct {
		name   string
		change func(t *testing.T, g *governance, l export.Link)
		code   string
	}{
		{"ExportRevoked", func(t *testing.T, g *governance, l export.Link) {
			if _, err := g.svc.Revoke(g.ctx, g.reviewer, l.ExportID, "consent withdrawn"); err != nil {
				t.Fatal(err)
			}
		}, export.ECONFLICT},
		{"ExportExpired", func(t *testing.T, g *governance, l export.Link) {
			if _, err := g.db.ExpireDue(g.ctx, g.now.Add(31*24*time.Hour)); err != nil {
				t.Fatal(err)
			}
		}, export.ECONFLICT},
		{"PrincipalRevoked", func(t *testing.T, g *governance, l export.Link) {
			if err := g.svc.RevokePrincipal(g.ctx, g.admin, l.PrincipalID); err != nil {
				t.Fatal(err)
			}
		}, export.EUNAUTHENTICATED},
		{"PrincipalExpired", func(t *testing.T, g *governance, l export.Link) {
			if _, err := g.db.SQL().ExecContext(g.ctx, `UPDATE principals SET expires_at = ? WHERE id = ?`,
				g.now.Add(time.Minute).Format(time.RFC3339Nano), l.PrincipalID); err != nil {
				t.Fatal(err)
			}
			g.now = g.now.Add(time.Minute)
		}, export.EUNAUTHENTICATED},
		{"AgreementEnded", func(t *testing.T, g *governance, l export.Link) {
			p, err := g.db.Partner(g.ctx, "partner-a")
			if err != nil {
				t.Fatal(err)
			}
			p.DUA.EndsOn = time.Date(2026, 5, 3, 0, 0, 0, 0, time.UTC) // yesterday
			dua, err := json.Marshal(p.DUA)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := g.db.SQL().ExecContext(g.ctx, `UPDATE partners SET dua_json = ? WHERE id = ?`, string(dua), p.ID); err != nil {
				t.Fatal(err)
			}
		}, export.ECONFLICT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, l, sig := setup(t)
			tt.change(t, g, l)
			_, _, f, err := g.svc.LinkDownloadable(g.ctx, l, sig)
			if err == nil || export.ErrorCode(err) != tt.code {
				t.Errorf("link after %s: file %v, err = %v; want %s", tt.name, f, err, tt.code)
			}
		})
	}
	t.Run("LongestLinkWorks", func(t *testing.T) {
		g, _, _ := setup(t)
		links, err := g.svc.CreateLinks(g.ctx, g.requester, "exp_0001", nil, export.MaxLinkTTL)
		if err != nil {
			t.Fatal(err)
		}
		l, sig := parseLink(t, links[0].URL)
		if _, _, _, err := g.svc.LinkDownloadable(g.ctx, l, sig); err != nil {
			t.Errorf("a link for %s refused at once: %v", export.MaxLinkTTL, err)
		}
	})
	t.Run("OtherFileOfTheExport", func(t *testing.T) {
		g, l, sig := setup(t)
		l.File = "forum_posts.parquet"
		if _, _, _, err := g.svc.LinkDownloadable(g.ctx, l, sig); export.ErrorCode(err) != export.EUNAUTHENTICATED {
			t.Errorf("link for another file: err = %v, want unauthenticated", err)
		}
	})
}

// parseLink reads a link and its signature back from its URL, as the
// server's /v1/links route does.
func parseLink(t *testing.T, raw string) (export.Link, string) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	rest, ok := strings.CutPrefix(u.Path, "/v1/links/")
	id, file, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 {
		t.Fatalf("link URL %s", raw)
	}
	q := u.Query()
	exp, err := strconv.ParseInt(q.Get("expires"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return export.Link{Method: "GET", ExportID: id, File: file, PrincipalID: q.Get("principal"), Expires: time.Unix(exp, 0), KeyID: q.Get("kid")}, q.Get("sig")
}

// FuzzLinkVerify checks the verifier on arbitrary links and signatures: it
// never panics, accepts a signature only if it is exactly the link's own
// under the server's key and the link is within its time window, accepts
// every such link, and never accepts the signature of another link.
func FuzzLinkVerify(f *testing.F) {
	now := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	signer := export.LinkSigner{KeyID: "k1", Key: linkKey}
	impostor := export.LinkSigner{KeyID: "k1", Key: []byte("another key, same key id........")}
	base := export.Link{Method: "GET", ExportID: "exp_0001", File: "grades.parquet", PrincipalID: "prn_requester", Expires: now.Add(time.Hour), KeyID: "k1"}
	baseSig := signer.Sign(base)
	f.Add("GET", "exp_0001", "grades.parquet", "prn_requester", int64(3600), "k1", baseSig)
	f.Add("GET", "exp_0001g", "rades.parquet", "prn_requester", int64(3600), "k1", baseSig)
	f.Add("GET", "exp_0001", "grades.parquet", "prn_requester", int64(3600), "k1", flipUnusedBit(baseSig))
	f.Add("GET", "exp_0001", "grades.parquet", "prn_requester", int64(3601), "k1", baseSig)
	f.Add("GET", "exp_0001", "grades.parquet", "prn_requester", int64(86401), "k1", "")
	f.Add("GET", "exp_0001", "grades.parquet", "prn_requester", int64(0), "k1", "")
	f.Add("", "", "", "", int64(-1), "", "")
	f.Add("GET\x00", "exp_0001", "grades.parquet", "prn_requester", int64(3600), "k2", baseSig+"=")
	f.Fuzz(func(t *testing.T, method, exportID, file, principalID string, offset int64, keyID, sig string) {
		l := export.Link{Method: method, ExportID: exportID, File: file, PrincipalID: principalID,
			Expires: time.Unix(now.Unix()+offset, 0), KeyID: keyID}
		inWindow := now.Before(l.Expires) && !l.Expires.After(now.Add(export.MaxLinkTTL))
		own := signer.Sign(l)

		err := signer.Verify(l, sig, now)
		switch {
		case err == nil && (sig != own || keyID != signer.KeyID || !inWindow):
			t.Fatalf("verified %+v with signature %q (own %q)", l, sig, own)
		case err != nil && export.ErrorCode(err) != export.EUNAUTHENTICATED:
			t.Fatalf("err = %v, want unauthenticated", err)
		}
		if ok := signer.Verify(l, own, now) == nil; ok != (keyID == signer.KeyID && inWindow) {
			t.Fatalf("own signature of %+v: verified %v, key id and window right %v", l, ok, keyID == signer.KeyID && inWindow)
		}
		if impostor.Verify(l, own, now) == nil {
			t.Fatalf("a signature under another key verified %+v", l)
		}
		same := l.Method == base.Method && l.ExportID == base.ExportID && l.File == base.File &&
			l.PrincipalID == base.PrincipalID && l.Expires.Equal(base.Expires) && l.KeyID == base.KeyID
		if ok := signer.Verify(l, baseSig, now) == nil; ok != same {
			t.Fatalf("the signature of %+v verified %+v: %v", base, l, ok)
		}
	})
}
